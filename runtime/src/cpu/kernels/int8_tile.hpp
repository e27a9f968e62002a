// The int8 GEMM's register tiles and its vectorised quantisation, written once over a kernel's
// dot-product step (K: an x86 or NEON instruction, see gemm_int8_*.cpp) and included by each
// kernel source, so that every kernel shares the loop structure, the epilogue arithmetic and
// the quantisation steps. Only for the kernel sources: internal, in the ISA's namespace (see
// isa_kernels.hpp); a source that includes it may compile it for a wider target (#pragma GCC
// target), which is why it is a header of templates and not functions of one object.
//
// K provides: kLanes (int32 lanes of a vector), kGroup (k values a dot step sums), kRows
// (rows of the whole tile); vi and vf (GCC int32 and float vectors of kLanes: a vector_size
// that depends on a template parameter is lost); q_type (the activations' type) and vq (kLanes
// of it); load_w(p) (the weights of one
// vector's columns for one k group, kLanes * kGroup bytes at p); broadcast(word) (the 4 bytes
// of one row's k group in every lane); dot(acc, x, w) (acc + the group's products, exact).
// A panel is two vectors of columns (W = 2 * kLanes). Each output is its exact int32 sum, then
// float(acc - correction) * (s_x * s_w) + b in f32, then finish_rows' epilogue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#if defined(__AVX2__) && !defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cpu/kernels/epilogue.hpp"
#include "cpu/kernels/isa_kernels.hpp"
#include "cpu/kernels/quantize_row.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {
namespace {

template <class To, class From>
inline To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of one size");
  To to;
  __builtin_memcpy(&to, &from, sizeof to);
  return to;
}

template <class K>
struct Int8Tiles {
  static constexpr size_t kLanes = K::kLanes, kWidth = 2 * K::kLanes, kGroup = K::kGroup, kRows = K::kRows;
  using vi = typename K::vi;
  using vf = typename K::vf;

  // Rows [r, r + count) (count <= R; the extra rows repeat the last and are not stored) times
  // panels [p, p + P).
  template <size_t R, size_t P>
  __attribute__((always_inline)) static inline void tile(const Int8GemmArgs& g, size_t r, size_t count, size_t p) {
    const unsigned char* x[R];
    const int8_t* w[P];
    for (size_t i = 0; i < R; ++i) {
      x[i] = static_cast<const unsigned char*>(g.q) + (r + (i < count ? i : count - 1)) * g.q_stride;
    }
    for (size_t q = 0; q < P; ++q) w[q] = g.panels + (p + q) * g.k * kWidth;
    vi acc[R][P][2];
#pragma GCC unroll 8
    for (size_t i = 0; i < R; ++i) {
#pragma GCC unroll 8
      for (size_t q = 0; q < P; ++q) acc[i][q][0] = acc[i][q][1] = vi{};
    }
    const size_t groups = g.k / kGroup;
    for (size_t s = 0; s < groups; ++s) {
      vi w0[P], w1[P];
#pragma GCC unroll 8
      for (size_t q = 0; q < P; ++q) {
        w0[q] = K::load_w(w[q] + s * kWidth * kGroup);
        w1[q] = K::load_w(w[q] + s * kWidth * kGroup + kLanes * kGroup);
      }
#pragma GCC unroll 8
      for (size_t i = 0; i < R; ++i) {
        int32_t word;
        __builtin_memcpy(&word, x[i] + s * 4, sizeof word);
        const vi a = K::broadcast(word);
#pragma GCC unroll 8
        for (size_t q = 0; q < P; ++q) {
          acc[i][q][0] = K::dot(acc[i][q][0], a, w0[q]);
          acc[i][q][1] = K::dot(acc[i][q][1], a, w1[q]);
        }
      }
    }
    finish<R, P>(g, acc, r, count, p);
  }

  template <size_t R, size_t P>
  __attribute__((always_inline)) static inline void finish(const Int8GemmArgs& g, const vi (&acc)[R][P][2], size_t r,
                                                           size_t count, size_t p) {
    const size_t col = p * kWidth, cols = g.out - col < P * kWidth ? g.out - col : P * kWidth;
    const float* residual = g.residual != nullptr ? g.residual + r * g.residual_stride + col : nullptr;
    float* y = g.y + r * g.y_stride + col;
    const bool direct = g.activation == 0 && cols == P * kWidth;  // straight from the registers
    alignas(64) float t[R * P * kWidth];
#pragma GCC unroll 8
    for (size_t q = 0; q < P; ++q) {
      const uint32_t* params = g.params + 3 * (p + q) * kWidth;
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        vi correction;
        vf scale, bias;
        __builtin_memcpy(&correction, params + h * kLanes, sizeof correction);
        __builtin_memcpy(&scale, params + kWidth + h * kLanes, sizeof scale);
        __builtin_memcpy(&bias, params + 2 * kWidth + h * kLanes, sizeof bias);
#pragma GCC unroll 8
        for (size_t i = 0; i < R; ++i) {
          if (i >= count) break;
          const vf s = g.x_scales[r + i] * scale;  // s_x * s_w, then float(acc) * s, then + b
          vf v = __builtin_convertvector(acc[i][q][h] - correction, vf);
          v = v * s;
          v = v + bias;
          if (direct) {
            if (residual != nullptr) {
              vf res;
              __builtin_memcpy(&res, residual + i * g.residual_stride + q * kWidth + h * kLanes, sizeof res);
              v = v + res;
            }
            __builtin_memcpy(y + i * g.y_stride + q * kWidth + h * kLanes, &v, sizeof v);
          } else {
            __builtin_memcpy(t + (i * P + q) * kWidth + h * kLanes, &v, sizeof v);
          }
        }
      }
    }
    if (!direct) finish_rows(t, P * kWidth, count, cols, g.activation, residual, g.residual_stride, y, g.y_stride);
  }

  template <size_t R, size_t P>
  static void group(const Int8GemmArgs& g, size_t r, size_t count, size_t p, size_t panels) {
    if constexpr (P > 1) {
      if (panels < P) return group<R, P - 1>(g, r, count, p, panels);
    }
    tile<R, P>(g, r, count, p);
  }

  // Rows [r, r + count) over panels [begin, end) in groups of at most P panels, as even as
  // possible (a short row block keeps more accumulators busy with more panels at once).
  template <size_t R, size_t P>
  static void panels(const Int8GemmArgs& g, size_t r, size_t count, size_t begin, size_t end) {
    const size_t n = end - begin, groups = (n + P - 1) / P;
    for (size_t i = 0; i < groups; ++i) {
      const size_t first = begin + n * i / groups, last = begin + n * (i + 1) / groups;
      group<R, P>(g, r, count, first, last - first);
    }
  }

  // Whole row tiles panel by panel (one panel's weights serve every row tile from L1), then
  // the remaining rows, more panels at a time the fewer they are (as gemm.cpp).
  static void run(const Int8GemmArgs& g) {
    const size_t whole = g.rows / kRows * kRows, left = g.rows - whole;
    for (size_t p = g.panel_begin; p < g.panel_end; ++p) {
      for (size_t r = 0; r < whole; r += kRows) tile<kRows, 1>(g, r, kRows, p);
    }
    if (left == 1) {
      panels<1, kRows / 2>(g, whole, 1, g.panel_begin, g.panel_end);
    } else if (left == 2) {
      panels<2, kRows / 2>(g, whole, 2, g.panel_begin, g.panel_end);
    } else if (left > 0 && left <= kRows / 2) {
      panels<kRows / 2, 2>(g, whole, left, g.panel_begin, g.panel_end);
    } else if (left > 0) {
      for (size_t p = g.panel_begin; p < g.panel_end; ++p) tile<kRows, 1>(g, whole, left, p);
    }
  }
};

// Stores the lanes of n (values that fit K::q_type) as K::q_type at p.
template <class K>
inline void store_narrow(typename K::q_type* p, typename K::vi n) {
#if defined(__AVX2__) && !defined(__AVX512F__)
  if constexpr (sizeof(typename K::vi) == 32 && std::is_same<typename K::q_type, uint8_t>::value) {
    // 8 int32 to 8 u8 (GCC's vector conversion does it lane by lane without AVX-512).
    const __m256i v = bit_cast<__m256i>(n);
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(w, w));
    return;
  }
  if constexpr (sizeof(typename K::vi) == 32 && std::is_same<typename K::q_type, int16_t>::value) {
    const __m256i v = bit_cast<__m256i>(n);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
    return;
  }
#endif
  const typename K::vq q = __builtin_convertvector(n, typename K::vq);
  __builtin_memcpy(p, &q, sizeof q);
}

// The contract's per-row quantisation in K's vectors (quantize_value's steps: NaN to 0, clamp,
// then round to nearest even by adding and subtracting 1.5 * 2^23, exact for |v| <= 127),
// storing q + kOffset as K::q_type (K::vq: kLanes of them).
template <class K, int32_t kOffset>
void quantize_rows(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                   float* scales) {
  using vi = typename K::vi;
  using vf = typename K::vf;
  using T = typename K::q_type;
  constexpr size_t kN = K::kLanes;
  const vf zero{}, high = zero + 127.0f, low = zero - 127.0f, magic = zero + 12582912.0f;
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    T* qr = reinterpret_cast<T*>(static_cast<unsigned char*>(q) + r * q_stride);
    vi m{};  // |x| as bits are non-negative int32: signed order is their order
    size_t i = 0;
    for (; i + kN <= in; i += kN) {
      vi b;
      __builtin_memcpy(&b, xr + i, sizeof b);
      b &= 0x7FFFFFFF;
      m = m > b ? m : b;
    }
    uint32_t amax = 0;
    for (size_t l = 0; l < kN; ++l) amax = uint32_t(m[l]) > amax ? uint32_t(m[l]) : amax;
    amax = abs_max_bits(xr + i, in - i, amax);
    float inv;
    scales[r] = row_scale(amax, &inv);
    i = 0;
    if (amax >= 0x00800000u && amax < 0x7F800000u) {
      // amax normal and finite: 127 / amax is finite, every |x * inv| <= 127 (1 + 2^-24)^2
      // rounds to at most 127, and nothing is NaN: no clamp needed, same results.
      for (; i + kN <= in; i += kN) {
        vf v;
        __builtin_memcpy(&v, xr + i, sizeof v);
        v = (v * inv + magic) - magic;
        store_narrow<K>(qr + i, __builtin_convertvector(v, vi) + kOffset);
      }
    }
    for (; i + kN <= in; i += kN) {
      vf v;
      __builtin_memcpy(&v, xr + i, sizeof v);
      v = v * inv;
      v = v == v ? v : zero;
      v = v > high ? high : v;
      v = v < low ? low : v;
      v = (v + magic) - magic;
      store_narrow<K>(qr + i, __builtin_convertvector(v, vi) + kOffset);
    }
    quantize_tail<T, kOffset>(xr, i, in, k, inv, qr);
  }
}

}  // namespace
}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
