#include "cpu/kernels/isa_kernels.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

void add(const float* a, const float* b, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void accumulate(const float* x, float w, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += w * x[i];
}

void mean_rows(const float* x, size_t rows, size_t dim, float* y) {
  for (size_t e = 0; e < dim; ++e) y[e] = 0.0f;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    for (size_t e = 0; e < dim; ++e) y[e] += row[e];
  }
  const float inv = 1.0f / float(rows);
  for (size_t e = 0; e < dim; ++e) y[e] *= inv;
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
