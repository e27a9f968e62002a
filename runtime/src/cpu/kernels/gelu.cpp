#include "cpu/kernels/isa_kernels.hpp"
#include "cpu/kernels/math.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

void gelu_erf(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
}

void gelu_tanh(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + fast_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
