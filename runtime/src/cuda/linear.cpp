#include "cuda/linear.hpp"

#include "cuda/cublas_library.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/gemm_precision.hpp"
#include "cuda/kernels.hpp"
#include "cuda/linear_f16.hpp"
#include "cuda/linear_int8.hpp"
#include "error.hpp"

namespace pfrt::cuda {

void linear(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const float* w, size_t out,
            float* y, size_t y_stride) {
  // Column-major view: y^T [out, rows] = (w^T)^T [out, in] . x^T [in, rows], where the
  // row-major w and x are, read column-major, w^T (ld = in) and x^T (ld = x_stride); y^T has
  // ld = y_stride.
  const float one = 1.0f, zero = 0.0f;
  check(cublas().sgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(rows), int(in), &one, w, int(in), x, int(x_stride),
                       &zero, y, int(y_stride)),
        "cublasSgemm");
}

void enqueue_linear_stage(const plan::ExecutionPlan& plan, const plan::Stage& s, const plan::Memory& memory,
                          size_t rows, uint32_t branch, const DeviceWeights& weights, cudaStream_t stream,
                          cublasHandle_t blas) {
  const format::ModelConfig& c = plan.config();
  const plan::LinearLayer& l = plan.linears()[s.linear];
  const float* in = plan::locate(plan, memory, s.in, branch);
  float* out = plan::locate(plan, memory, s.out, branch);
  const float* bias = plan::resolve(weights.get(), l.bias, branch);
  const float* residual = s.has_aux ? plan::locate(plan, memory, s.aux, branch) : nullptr;
  const size_t residual_stride = s.has_aux ? s.aux.matrix_stride() : 0;
  const bool gelu = s.activation == plan::Activation::kGelu;
  const GemmPath path = gemm_path(l.quantization.precision);
  float* scratch = nullptr;
  if (path != GemmPath::kSgemm) {
    if (!s.has_scratch) core::fail(PFRT_INTERNAL_ERROR, "cuda backend: " + l.name + " has no GEMM scratch");
    plan::View view;
    view.buffer = s.scratch;
    scratch = plan::locate(plan, memory, view, branch);
  }
  switch (path) {
    case GemmPath::kSgemm: {
      const float* w = plan::resolve(weights.get(), l.weight, branch) + size_t{l.first_row} * l.in;
      linear(blas, in, s.in.matrix_stride(), rows, l.in, w, l.out, out, s.out.matrix_stride());
      break;
    }
    case GemmPath::kHalfGemm: {
      const GemmOperand g = weights.gemm_operand(c, l.weight, branch, l.first_row);
      linear_f16(blas, in, s.in.matrix_stride(), rows, l.in, static_cast<const uint16_t*>(g.values), g.ld, l.out,
                 reinterpret_cast<uint16_t*>(scratch), out, s.out.matrix_stride(), stream);
      break;
    }
    case GemmPath::kInt8Matmul: {
      const GemmOperand g = weights.gemm_operand(c, l.weight, branch, l.first_row);
      const Int8Linear op{
          in,  s.in.matrix_stride(), rows, l.in, l.out, static_cast<const int8_t*>(g.values), g.scales, scratch,
          out, s.out.matrix_stride()};
      kernels::Int8Epilogue epilogue{};
      epilogue.bias = bias;
      epilogue.gelu = gelu;
      epilogue.form = c.gelu;
      epilogue.residual = residual;
      epilogue.residual_stride = residual_stride;
      linear_int8(weights.lt(), op, epilogue, stream);
      return;  // the int8 epilogue did bias, GELU and residual
    }
  }
  kernels::linear_epilogue(out, s.out.matrix_stride(), rows, l.out, bias, gelu, c.gelu, residual, residual_stride,
                           stream);
}

}  // namespace pfrt::cuda
