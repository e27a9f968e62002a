// What an f16 GEMM kernel (gemm_f16_*.cpp) offers the dispatch and cpu::PackedLinearF16: its
// weight and input layouts, its chunk of k and three functions. Plain data only (no inline
// functions), so the per-ISA kernel sources may include it (see isa_kernels.hpp). Halves are
// IEEE binary16 values, passed as untyped memory (x86 builds have no f16 type to name them).
//
// The arithmetic (README "int8 and f16 models"), for K = `in` rounded up to 8:
//   input   x16[r][k] = x[r][k] rounded to f16 (to nearest, even on ties; zero past `in`);
//   chunks  for each chunk c of `chunk` consecutive k (F16GemmKernel::chunk; the last shorter),
//           h_c = fma16(...fma16(fma16(0, w[n][k0], x16[r][k0]), w[n][k0 + 1], ...)...)
//           in k order, each fma rounded once to f16;
//   output  s = ((h_0 + h_1) + h_2) + ... in f32, y[r][n] = s + b[n] in f32, then the f32
//           epilogue (GELU, residual) exactly as the f32 GEMM's.
// Packed weights, for panel width W: P = ceil(out / W) panels; panel p, input k < K, column j
// at halves[(p * K + k) * W + j] = w[p * W + j][k] (zero past `out` and `in`); the bias apart,
// P * W floats (zero past `out`).
#pragma once

#include <cstddef>

#include "cpu/kernels/gemm_output.hpp"

namespace pfrt::cpu::kernels {

// One run of an f16 kernel: rows [0, rows) of the converted input, the output columns below
// `out` of panels [panel_begin, panel_end) (GemmOutput).
struct F16GemmArgs : GemmOutput {
  size_t rows;
  size_t k;       // `in` rounded up to 8
  const void* x;  // f16 input rows, x_stride halves apart
  size_t x_stride;
  const void* panels;
  const float* bias;  // P * W floats
};

struct F16GemmKernel {
  const char* isa;
  size_t rows_per_tile, panel_width, chunk;  // chunk: k values summed in f16 before the f32 sum
  // W [out, in] (f32 values, rounded to f16; an f16 model's widened weights are exact) and the
  // bias (null: zero) into the packed layout above, `k` = `in` rounded up to 8.
  void (*pack)(const float* weight, size_t in, size_t out, size_t k, const float* bias, void* panels,
               float* bias_panels);
  // `rows` rows of `in` floats (x_stride apart) into f16 rows of k halves (h_stride apart),
  // zero past `in`.
  void (*convert)(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* h, size_t h_stride);
  // The arithmetic above for one F16GemmArgs; writes nothing outside its rows and columns.
  void (*run)(const F16GemmArgs& args);
};

}  // namespace pfrt::cpu::kernels
