// The int8 GEMM for AVX2 without VNNI ("avx2", 6 rows x 16 columns): activations stored as
// int16, weights widened from int8 as they are loaded (vpmovsxbw), and vpmaddwd summing pairs
// of int16 products into int32, exact for |q| <= 127 (vpmaddubsw is not used: its int16 sums
// of u8 x s8 pairs saturate).
#if defined(__AVX2__) && !defined(__AVX512F__)
#include <immintrin.h>

#include "cpu/kernels/int8_tile.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

struct Madd {
  static constexpr size_t kLanes = 8, kGroup = 2, kRows = 6;
  typedef int32_t vi __attribute__((vector_size(32)));
  typedef float vf __attribute__((vector_size(32)));
  using q_type = int16_t;
  typedef int16_t vq __attribute__((vector_size(16)));
  static vi load_w(const int8_t* p) {
    return bit_cast<vi>(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static vi broadcast(int32_t word) { return vi{} + word; }
  static vi dot(vi acc, vi x, vi w) {
    return acc + bit_cast<vi>(_mm256_madd_epi16(bit_cast<__m256i>(x), bit_cast<__m256i>(w)));
  }
};

void madd_run(const Int8GemmArgs& args) { Int8Tiles<Madd>::run(args); }

void madd_quantize(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                   float* scales) {
  quantize_rows<Madd, 0>(x, x_stride, rows, in, k, q, q_stride, scales);
}

}  // namespace

extern const Int8GemmKernel int8_avx2{"avx2",       Int8Feature::kNone, Madd::kRows,   2 * Madd::kLanes,
                                      Madd::kGroup, Int8Format::kS16,   madd_quantize, madd_run};

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
#endif
