// Where an int8 or f16 GEMM kernel writes (the part of int8_kernel.hpp's and f16_kernel.hpp's
// arguments they share): the output columns below `out` of panels [panel_begin, panel_end), y
// rows y_stride floats apart, after the f32 epilogue. Plain data only (see isa_kernels.hpp).
#pragma once

#include <cstddef>

namespace pfrt::cpu::kernels {

struct GemmOutput {
  size_t out, panel_begin, panel_end;
  float* y;
  size_t y_stride;
  unsigned activation;  // 0 none, 1 GELU erf, 2 GELU tanh (as GemmKernel::run)
  const float* residual;
  size_t residual_stride;
};

}  // namespace pfrt::cpu::kernels
