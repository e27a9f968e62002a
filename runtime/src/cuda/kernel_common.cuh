// What the element-wise kernels of several .cu files share: the launch shape of grid-stride
// loops over 64-bit indices, and the GEMM epilogue's activation (GELU in either form).
#pragma once

#include <cstddef>

namespace pfrt::cuda::kernels {

inline constexpr unsigned kThreads = 256;
inline constexpr size_t kMaxBlocks = 4096;

// Blocks of kThreads for n items (at least 1, at most kMaxBlocks: the loops stride the rest).
inline unsigned blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

__device__ inline size_t first_index() { return size_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline size_t grid_stride() { return size_t(gridDim.x) * blockDim.x; }

// GELU of v: the erf form, or the tanh approximation.
__device__ inline float gelu(float v, bool erf_form) {
  if (erf_form) return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  const float k = 0.79788456080286536f;  // sqrt(2 / pi)
  return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

}  // namespace pfrt::cuda::kernels
