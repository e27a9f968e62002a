// The kernels around the f16 and int8 GEMMs (gemm_precision.hpp): the input rows converted to
// half or quantised, pfrt's own int8 GEMM where cublasLt refuses a shape, and the int8 epilogue.
// Each enqueues its work on `stream` and checks the launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "format/model_spec.hpp"

namespace pfrt::cuda::kernels {

// half[r][k] = x[r][k] rounded to binary16 (nearest even) for k < in, 0 for in <= k < ld; x rows
// x_stride floats apart, `half` rows ld halves apart (binary16 bits).
void to_half(const float* x, size_t x_stride, size_t rows, size_t in, uint16_t* half, size_t ld, cudaStream_t stream);

// The int8 contract's per-row dynamic quantisation (README "int8 and f16 models"), as the cpu
// kernels do it: amax = max_k |x[r][k]| (NaN above infinity), scales[r] = amax / 127 (0 for a
// zero row), q[r][k] = clamp(round_half_even(x * (127 / amax)), -127, 127) with NaN -> 0, zeros
// from `in` to ld.
void quantize_rows(const float* x, size_t x_stride, size_t rows, size_t in, int8_t* q, size_t ld, float* scales,
                   cudaStream_t stream);

// sums[r][n] = sum_k q[r][k] w[n][k] in int32 for r < rows, n < m, k < depth (a multiple of 4;
// rows of q and w `depth` int8 apart, 4-byte aligned), sums rows m apart: cublasLt's result,
// computed with dp4a, for shapes cublasLt refuses.
void int8_gemm(const int8_t* q, const int8_t* w, size_t rows, size_t m, size_t depth, int32_t* sums,
               cudaStream_t stream);

// y[r][n] = act(float(sums[r][n]) * (x_scales[r] * w_scales[n]) + bias[n]) + residual[r][n] in
// f32 in this order (no fused multiply-add: the reference's roundings), for n < cols; bias and
// residual optional (null), act GELU when `gelu`.
struct Int8Epilogue {
  const int32_t* sums;
  size_t sums_ld;
  const float* x_scales;
  const float* w_scales;
  const float* bias;
  bool gelu;
  format::Gelu form;
  const float* residual;
  size_t residual_stride;
};
void int8_epilogue(const Int8Epilogue& e, size_t rows, size_t cols, float* y, size_t y_stride, cudaStream_t stream);

}  // namespace pfrt::cuda::kernels
