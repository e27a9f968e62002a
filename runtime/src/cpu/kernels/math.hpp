// Scalar elementary functions written as straight-line arithmetic so that loops calling them
// vectorise (std::exp / std::erf are library calls the compiler cannot vectorise without
// -ffast-math). Accuracy: exp within ~2 ulp on [-87, 88]; erf within 1.5e-7 absolute.
// Only for the kernel sources: static, in the ISA's namespace (see isa_kernels.hpp).
#pragma once

#include <cstdint>

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

// e^x = 2^n e^r, n = round(x / ln2) (the 1.5 * 2^23 addition rounds and leaves n in the low
// mantissa bits), |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n built in the exponent field.
static inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // Unsigned: for a NaN x (which the clamps let through, and which the result carries on) the
  // bits are no small exponent, and a signed shift of them would be undefined behaviour.
  uint32_t bits;
  __builtin_memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4B400000u + 127u) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// erf(x) by Abramowitz & Stegun 7.1.26 (max absolute error 1.5e-7), odd symmetry.
static inline float fast_erf(float x) {
  const float a = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * fast_exp(-a * a);
  return x < 0.0f ? -y : y;
}

// tanh(x) = 1 - 2 / (e^{2x} + 1), saturating for large |x|.
static inline float fast_tanh(float x) {
  x = x < -15.0f ? -15.0f : (x > 15.0f ? 15.0f : x);
  return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
