// The int8 contract's per-row dynamic quantisation, one value at a time: the plain version the
// vectorised quantise kernels are tested against, and their tails. Only for the kernel sources:
// static, in the ISA's namespace (see isa_kernels.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/kernels/isa_kernels.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

// |v|'s bits: for the non-negative floats, integer order is float order (a NaN is above +inf,
// so a row's maximum is NaN when it holds one, the same in every kernel).
static inline uint32_t abs_bits(float v) {
  uint32_t bits;
  __builtin_memcpy(&bits, &v, sizeof bits);
  return bits & 0x7FFFFFFFu;
}

static inline float from_bits(uint32_t bits) {
  float v;
  __builtin_memcpy(&v, &bits, sizeof v);
  return v;
}

// The larger of m and the |x[i]| as bits.
static inline uint32_t abs_max_bits(const float* x, size_t n, uint32_t m) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t b = abs_bits(x[i]);
    m = b > m ? b : m;
  }
  return m;
}

// q = clamp(nearbyint(v * inv), -127, 127), and 0 where v * inv is NaN. The vector kernels do
// the same steps: NaN to 0, clamp in f32, round to nearest even.
static inline int32_t quantize_value(float v, float inv) {
  float t = v * inv;
  t = t == t ? t : 0.0f;
  t = t > 127.0f ? 127.0f : t;
  t = t < -127.0f ? -127.0f : t;
  return int32_t(__builtin_nearbyintf(t));
}

// The row's scale and 127 / amax (inv), from its amax: scale 0 for a zero row (then every q is
// 0 whatever inv is).
static inline float row_scale(uint32_t amax_bits, float* inv) {
  const float amax = from_bits(amax_bits);
  *inv = amax_bits == 0 ? 0.0f : 127.0f / amax;
  return amax_bits == 0 ? 0.0f : amax / 127.0f;
}

// Values [begin, in) of a row as T (q + offset), then zeros (q = 0) up to k.
template <class T, int32_t kOffset>
static inline void quantize_tail(const float* x, size_t begin, size_t in, size_t k, float inv, T* q) {
  for (size_t i = begin; i < in; ++i) q[i] = T(quantize_value(x[i], inv) + kOffset);
  for (size_t i = in > begin ? in : begin; i < k; ++i) q[i] = T(kOffset);
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
