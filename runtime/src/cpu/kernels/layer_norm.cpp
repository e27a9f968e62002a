#include "cpu/kernels/isa_kernels.hpp"

#include <cmath>

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

constexpr size_t kLanes = 16;  // independent partial sums: what lets the compiler vectorise a reduction

// The row in double, as the reference computes it: for rows whose float sums overflow (values
// beyond about 1e19, whose squares pass FLT_MAX). Finite input gives finite output, as in the
// reference (docs/network.md, "Non-finite and huge inputs").
void normalise_row_double(const float* x, size_t dim, const float* gamma, const float* beta, float eps, float* y) {
  double mean = 0.0;
  for (size_t i = 0; i < dim; ++i) mean += x[i];
  mean /= double(dim);
  double var = 0.0;
  for (size_t i = 0; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
  const double inv = 1.0 / std::sqrt(var / double(dim) + double(eps));
  for (size_t i = 0; i < dim; ++i) y[i] = float((x[i] - mean) * inv * gamma[i] + beta[i]);
}

void normalise_row(const float* x, size_t dim, const float* gamma, const float* beta, float eps, float* y) {
  float lane[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lane[l] += x[i + l];
  }
  float sum = 0.0f;
  for (; i < dim; ++i) sum += x[i];
  for (size_t l = 0; l < kLanes; ++l) sum += lane[l];
  const float mean = sum / float(dim);

  // Two passes (mean, then squared deviations): as accurate as the reference's form.
  float sq[kLanes] = {};
  for (i = 0; i + kLanes <= dim; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float d = x[i + l] - mean;
      sq[l] += d * d;
    }
  }
  float var = 0.0f;
  for (; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
  for (size_t l = 0; l < kLanes; ++l) var += sq[l];
  if (!std::isfinite(var)) return normalise_row_double(x, dim, gamma, beta, eps, y);  // rare: huge values
  const float inv = 1.0f / __builtin_sqrtf(var / float(dim) + eps);
  for (i = 0; i < dim; ++i) y[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

}  // namespace

void layer_norm(const float* x, size_t x_stride, size_t rows, size_t dim, const float* gamma, const float* beta,
                float eps, float* y, size_t y_stride) {
  for (size_t r = 0; r < rows; ++r) normalise_row(x + r * x_stride, dim, gamma, beta, eps, y + r * y_stride);
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
