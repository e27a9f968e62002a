// The int8 GEMMs over VNNI's vpdpbusd (u8 x s8 products, four a lane, summed into int32
// without saturation): "avx512-vnni" in the AVX-512 objects (zmm, 8 rows x 32 columns) and
// "avx-vnni" in the AVX2 objects (the VEX form, ymm, 6 rows x 16 columns). vpdpbusd multiplies
// unsigned by signed bytes, so activations are stored as q + 128 and the kernel subtracts
// 128 * sum_k q_w (the packed correction) from each sum: exact while 255 * 127 * K < 2^31.
// The VNNI instructions are enabled for this file alone (GCC: #pragma GCC target; clang, which
// has no such pragma: a target attribute on every function below): the dispatch runs these
// kernels only where the CPU reports avx512vnni / avxvnni.
#if defined(__AVX2__)
#if defined(__clang__)
#include <immintrin.h>
#if defined(__AVX512F__)
#pragma clang attribute push(__attribute__((target("avx512vnni"))), apply_to = function)
#else
#pragma clang attribute push(__attribute__((target("avxvnni"))), apply_to = function)
#endif
#else
#if defined(__AVX512F__)
#pragma GCC target("avx512vnni")
#else
#pragma GCC target("avxvnni")
#endif
#include <immintrin.h>
#endif

#include "cpu/kernels/int8_tile.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

#if defined(__AVX512F__)
struct Vnni {
  static constexpr size_t kLanes = 16, kGroup = 4, kRows = 8;
  typedef int32_t vi __attribute__((vector_size(64)));
  typedef float vf __attribute__((vector_size(64)));
  using q_type = uint8_t;
  typedef uint8_t vq __attribute__((vector_size(16)));
  static vi load_w(const int8_t* p) {
    vi v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static vi broadcast(int32_t word) { return vi{} + word; }
  static vi dot(vi acc, vi x, vi w) {
    return bit_cast<vi>(_mm512_dpbusd_epi32(bit_cast<__m512i>(acc), bit_cast<__m512i>(x), bit_cast<__m512i>(w)));
  }
};
#else
struct Vnni {
  static constexpr size_t kLanes = 8, kGroup = 4, kRows = 6;
  typedef int32_t vi __attribute__((vector_size(32)));
  typedef float vf __attribute__((vector_size(32)));
  using q_type = uint8_t;
  typedef uint8_t vq __attribute__((vector_size(8)));
  static vi load_w(const int8_t* p) {
    vi v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static vi broadcast(int32_t word) { return vi{} + word; }
  static vi dot(vi acc, vi x, vi w) {
    return bit_cast<vi>(_mm256_dpbusd_avx_epi32(bit_cast<__m256i>(acc), bit_cast<__m256i>(x), bit_cast<__m256i>(w)));
  }
};
#endif

void vnni_run(const Int8GemmArgs& args) { Int8Tiles<Vnni>::run(args); }

void vnni_quantize(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                   float* scales) {
  quantize_rows<Vnni, 128>(x, x_stride, rows, in, k, q, q_stride, scales);
}

}  // namespace

#if defined(__AVX512F__)
extern const Int8GemmKernel int8_avx512_vnni{"avx512-vnni", Int8Feature::kAvx512Vnni, Vnni::kRows,   2 * Vnni::kLanes,
                                             Vnni::kGroup,  Int8Format::kU8,          vnni_quantize, vnni_run};
#else
extern const Int8GemmKernel int8_avx_vnni{"avx-vnni",   Int8Feature::kAvxVnni, Vnni::kRows,   2 * Vnni::kLanes,
                                          Vnni::kGroup, Int8Format::kU8,       vnni_quantize, vnni_run};
#endif

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
