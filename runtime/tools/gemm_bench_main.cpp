// pfrt-gemm-bench: pfrt's own GEMMs alone against XNNPACK's on the DeiT-Tiny shapes, f32 and
// int8 side by side, on 1 and 2 threads by default. For each shape it prints GFLOP/s (f32) or
// GOP/s (int8, 2 m k n operations a run) of:
//   pfrt f32      cpu::PackedLinear, the GemmTiling items on a WorkerTeam (as the cpu backend);
//   pfrt int8     cpu::PackedLinearInt8: the per-row quantisation plus the GEMM (what a model's
//                 int8 GEMM costs), and the GEMM alone;
//   pfrt f16      cpu::PackedLinearF16 (where the CPU has f16 arithmetic: ARMv8.2 FP16): the
//                 conversion of x to f16 plus the GEMM, on the weights rounded to f16;
//   xnnpack       fully_connected_nc_f32, and the int8 operators of reference_gemm_int8.hpp
//                 (which start from int8 activations: their time holds no quantisation).
// A developer's tool over pfrt's internal API (the cpu kernels), not installed.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "args.hpp"
#include "cpu/kernels/kernels.hpp"
#include "cpu/packed_linear.hpp"
#include "cpu/packed_linear_f16.hpp"
#include "cpu/packed_linear_int8.hpp"
#include "cpu/worker_team.hpp"
#include "reference_gemm.hpp"
#include "reference_gemm_int8.hpp"

namespace {

using pfrt::tools::GemmShape;

struct Buffer {  // 64-byte aligned bytes
  explicit Buffer(size_t bytes) : p(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)) {}
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* p;
};

// GOP/s of pfrt's f32 and int8 GEMMs (quantise + GEMM, and the GEMM alone) for `shape`.
struct PfrtRates {
  double f32 = 0, int8 = 0, int8_gemm = 0;
  double quantize_us = 0;  // the quantisation alone
  double f16 = -1;         // f16 arithmetic, the input's conversion included (-1: the CPU has none)
};

// GFLOP/s of pfrt's f16 GEMM (ARMv8.2 FP16) on the weights w rounded to f16, each run converting
// x to f16 first, as a GEMM stage of an f16 model does.
double f16_rate(const GemmShape& shape, const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& bias, std::vector<float>& y, pfrt::cpu::WorkerTeam& team,
                double min_seconds) {
  const size_t m = shape.m, k = shape.k, n = shape.n, threads = team.active_threads();
  const pfrt::cpu::PackedLinearF16 f16(w.data(), k, n, bias.data());
  Buffer halves(f16.input_bytes(m));
  const pfrt::cpu::GemmTiling tiling = pfrt::cpu::gemm_tiling(m, f16.panels(), f16.rows_per_tile(), threads);
  const size_t rows_per_thread = (m + threads - 1) / threads;
  return pfrt::tools::median_rate(
      shape.flops(),
      [&] {
        team.for_each(threads, [&](size_t t) {
          const size_t begin = std::min(m, t * rows_per_thread);
          f16.convert(begin, std::min(m, begin + rows_per_thread), x.data(), k, halves.p);
        });
        team.for_each(tiling.items(), [&](size_t i) {
          const pfrt::cpu::GemmItem it = tiling.item(i);
          f16.run(it.row_begin, it.row_end, halves.p, y.data(), n, it.panel_begin, it.panel_end);
        });
      },
      min_seconds);
}

PfrtRates pfrt_rates(const GemmShape& shape, pfrt::cpu::WorkerTeam& team, double min_seconds) {
  const size_t m = shape.m, k = shape.k, n = shape.n;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> x(m * k), w(n * k), bias(n), scales(n, 0.01f), y(m * n);
  std::vector<int8_t> qw(n * k);
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng) * 0.05f;
  for (float& v : bias) v = dist(rng);
  for (int8_t& v : qw) v = int8_t(q(rng));
  const pfrt::cpu::PackedLinear f32(w.data(), k, n, bias.data());
  const pfrt::cpu::PackedLinearInt8 int8(qw.data(), scales.data(), k, n, bias.data());
  Buffer activations(int8.activation_bytes(m));
  const size_t threads = team.active_threads();

  const pfrt::cpu::GemmTiling f32_tiling = pfrt::cpu::gemm_tiling(m, f32.panels(), f32.rows_per_tile(), threads);
  const pfrt::cpu::GemmTiling int8_tiling = pfrt::cpu::gemm_tiling(m, int8.panels(), int8.rows_per_tile(), threads);
  const size_t rows_per_thread = (m + threads - 1) / threads;
  auto run_f32 = [&] {
    team.for_each(f32_tiling.items(), [&](size_t i) {
      const pfrt::cpu::GemmItem it = f32_tiling.item(i);
      f32.run(it.row_end - it.row_begin, x.data() + it.row_begin * k, k, y.data() + it.row_begin * n, n, it.panel_begin,
              it.panel_end);
    });
  };
  auto quantize = [&] {
    team.for_each(threads, [&](size_t t) {
      const size_t begin = std::min(m, t * rows_per_thread), end = std::min(m, begin + rows_per_thread);
      int8.quantize(m, begin, end, x.data(), k, activations.p);
    });
  };
  auto run_int8 = [&] {
    team.for_each(int8_tiling.items(), [&](size_t i) {
      const pfrt::cpu::GemmItem it = int8_tiling.item(i);
      int8.run(m, it.row_begin, it.row_end, activations.p, y.data(), n, it.panel_begin, it.panel_end);
    });
  };
  PfrtRates r;
  r.f32 = pfrt::tools::median_rate(shape.flops(), run_f32, min_seconds);
  r.quantize_us = 1e-3 / pfrt::tools::median_rate(1, quantize, min_seconds);
  r.int8_gemm = pfrt::tools::median_rate(shape.flops(), run_int8, min_seconds);
  r.int8 = pfrt::tools::median_rate(
      shape.flops(),
      [&] {
        quantize();
        run_int8();
      },
      min_seconds);
  if (pfrt::cpu::kernels::f16_gemm_kernel() != nullptr) r.f16 = f16_rate(shape, x, w, bias, y, team, min_seconds);
  return r;
}

int run(int argc, char** argv) {
  pfrt::tools::ArgParser args("pfrt-gemm-bench", "[options]");
  args.option("threads", "LIST", "thread counts to time, e.g. 1,2 (default 1,2)");
  args.option("batch", "LIST", "images per run: m = 197 x batch rows (default 1,4)");
  args.option("min-seconds", "S", "time each rate for at least S seconds (default 0.3)");
  args.option("isa", "NAME", "pfrt's kernels of this instruction set (default: the best the CPU runs)");
  args.option("int8-kernel", "NAME", "pfrt's int8 kernel (default: the best of the instruction set)");
  args.option("f16-kernel", "NAME", "pfrt's f16 kernel, or 'widened' for none (default: the best the CPU runs)");
  args.flag("no-xnnpack", "time pfrt's GEMMs only");
  args.flag("help", "print this help");
  args.parse(argc, argv);
  if (args.has("help")) {
    std::printf("%s", args.help().c_str());
    return 0;
  }
  if (!args.positional().empty()) throw pfrt::tools::UsageError("unexpected argument '" + args.positional()[0] + "'");
  const std::vector<uint32_t> thread_counts =
      pfrt::tools::parse_uint_list("--threads", args.value("threads", "1,2"), 1, 256);
  const std::vector<uint32_t> batches = pfrt::tools::parse_uint_list("--batch", args.value("batch", "1,4"), 1, 256);
  const double min_seconds = pfrt::tools::parse_double("--min-seconds", args.value("min-seconds", "0.3"), 0.0, 60.0);
  const bool xnnpack = !args.has("no-xnnpack");
  try {  // test hooks of the kernel dispatch, for timing the other kernels this CPU runs
    if (args.has("isa")) pfrt::cpu::kernels::use_isa(args.value("isa").c_str());
    if (args.has("int8-kernel")) pfrt::cpu::kernels::use_int8_isa(args.value("int8-kernel").c_str());
    if (args.has("f16-kernel")) pfrt::cpu::kernels::use_f16_isa(args.value("f16-kernel").c_str());
  } catch (const std::invalid_argument& e) {
    throw pfrt::tools::UsageError(e.what());
  }

  const pfrt::cpu::kernels::F16GemmKernel* f16 = pfrt::cpu::kernels::f16_gemm_kernel();
  std::printf(
      "kernels: f32 %s, int8 %s, f16 %s (GFLOP/s for f32 and f16, GOP/s for int8; int8 pfrt = quantise + "
      "GEMM, f16 = convert + GEMM)\n",
      pfrt::cpu::kernels::kernel_isa(), pfrt::cpu::kernels::int8_gemm_kernel().isa,
      f16 != nullptr ? f16->isa : "none (no f16 arithmetic)");
  std::printf("%-22s %3s %9s %9s %9s %9s %9s %9s %7s %8s %9s\n", "shape m x k x n", "thr", "pfrt f32", "pfrt i8",
              "i8 gemm", "xnn f32", "xnn qc8", "xnn qs8", "i8/f32", "quant us", "pfrt f16");
  for (const uint32_t batch : batches) {
    const uint64_t m = 197ull * batch;
    const GemmShape shapes[] = {
        {"qkv", m, 192, 576}, {"attention output", m, 192, 192}, {"mlp fc1", m, 192, 768}, {"mlp fc2", m, 768, 192}};
    for (const uint32_t threads : thread_counts) {
      pfrt::cpu::WorkerTeam team(threads - 1, 50);
      for (const GemmShape& s : shapes) {
        const PfrtRates r = pfrt_rates(s, team, min_seconds);
        double xf = 0, xc = 0, xs = 0;
        if (xnnpack) {
          xf = pfrt::tools::reference_gemm_gflops(s, threads, min_seconds);
          xc = pfrt::tools::reference_gemm_int8_gops(s, threads, min_seconds,
                                                     pfrt::tools::Int8Reference::kConvolutionQc8);
          xs = pfrt::tools::reference_gemm_int8_gops(s, threads, min_seconds,
                                                     pfrt::tools::Int8Reference::kFullyConnectedQs8);
        }
        const std::string name = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
        char f16_text[16] = "-";
        if (r.f16 >= 0) std::snprintf(f16_text, sizeof f16_text, "%.1f", r.f16);
        std::printf("%-22s %3u %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6.2fx %8.1f %9s\n", name.c_str(), threads, r.f32,
                    r.int8, r.int8_gemm, xf, xc, xs, r.f32 > 0 ? r.int8 / r.f32 : 0.0, r.quantize_us, f16_text);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const pfrt::tools::UsageError& e) {
    std::fprintf(stderr, "pfrt-gemm-bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfrt-gemm-bench: %s\n", e.what());
    return 1;
  }
}
