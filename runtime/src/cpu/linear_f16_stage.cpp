#include "cpu/linear_f16_stage.hpp"

#include <algorithm>

#include "backend/backend.hpp"
#include "error.hpp"

namespace pfrt::cpu {

void run_linear_f16(const plan::ExecutionPlan& plan, const plan::Memory& memory, const plan::Stage& s,
                    const PackedLinearF16& layer, Activation activation, uint32_t branch, size_t rows, WorkerTeam& team,
                    double& convert_ms) {
  if (!s.has_scratch) core::fail(PFRT_INTERNAL_ERROR, "cpu backend: an f16 GEMM stage without its scratch");
  const size_t xs = s.in.matrix_stride(), ys = s.out.matrix_stride();
  const float* x = plan::locate(plan, memory, s.in, branch);
  plan::View scratch;
  scratch.buffer = s.scratch;
  void* halves = plan::locate(plan, memory, scratch, branch);
  // The input converted once, one block of rows per thread; then the GEMM's items read it.
  const core::Clock::time_point start = core::Clock::now();
  const size_t threads = std::max<size_t>(1, std::min<size_t>(team.threads(), rows)),
               block = (rows + threads - 1) / threads;
  team.for_each(threads, [&](size_t t) { layer.convert(t * block, std::min(rows, (t + 1) * block), x, xs, halves); });
  convert_ms += core::elapsed_ms(start, core::Clock::now());
  float* y = plan::locate(plan, memory, s.out, branch);
  LinearEpilogue epilogue;
  epilogue.activation = activation;
  epilogue.residual = s.has_aux ? plan::locate(plan, memory, s.aux, branch) : nullptr;
  epilogue.residual_stride = s.has_aux ? s.aux.matrix_stride() : 0;
  const GemmTiling tiling = gemm_tiling(rows, layer.panels(), layer.rows_per_tile(), team.threads());
  team.for_each(tiling.items(), [&](size_t i) {
    const GemmItem item = tiling.item(i);
    layer.run(item.row_begin, item.row_end, halves, y, ys, item.panel_begin, item.panel_end, epilogue);
  });
}

}  // namespace pfrt::cpu
