// The GEMM epilogue on a tile of finished sums, shared by the f32 (gemm.cpp) and int8
// (gemm_int8*.cpp) kernels so that both apply GELU and the residual identically. Only for the
// kernel sources: static, in the ISA's namespace (see isa_kernels.hpp).
#pragma once

#include "cpu/kernels/isa_kernels.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

// y rows [0, rows) of columns [0, cols) = act(t) + residual (when not null), from the tile t
// (rows t_stride floats apart; changed in place). activation: 0 none, 1 GELU erf, 2 GELU tanh.
static inline void finish_rows(float* t, size_t t_stride, size_t rows, size_t cols, unsigned activation,
                               const float* residual, size_t residual_stride, float* y, size_t y_stride) {
  for (size_t i = 0; i < rows; ++i) {
    float* ti = t + i * t_stride;
    if (activation == 1) gelu_erf(ti, cols);
    if (activation == 2) gelu_tanh(ti, cols);
    float* yi = y + i * y_stride;
    if (residual != nullptr) {
      const float* ri = residual + i * residual_stride;
      for (size_t j = 0; j < cols; ++j) yi[j] = ti[j] + ri[j];
    } else {
      for (size_t j = 0; j < cols; ++j) yi[j] = ti[j];
    }
  }
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
