// The int8 GEMM for 64-bit ARM without the dot-product extension ("neon", ARMv8.0: Pi 3 and 4):
// s8 activations, and for each group of 4 k values smull/smull2 (int8 products into int16,
// |q| <= 127 so each fits) then pairwise widening adds into int32, which cannot overflow.
#if defined(__aarch64__) && defined(PFRT_KERNEL_BASE)
#include <arm_neon.h>

#include "cpu/kernels/int8_tile.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

struct Smull {
  static constexpr size_t kLanes = 4, kGroup = 4, kRows = 8;
  typedef int32_t vi __attribute__((vector_size(16)));
  typedef float vf __attribute__((vector_size(16)));
  using q_type = int8_t;
  typedef int8_t vq __attribute__((vector_size(4)));
  static vi load_w(const int8_t* p) {
    vi v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static vi broadcast(int32_t word) { return vi{} + word; }
  // Lanes of w: columns 0..3, each 4 k values; x: the row's 4 k values in every lane.
  static vi dot(vi acc, vi x, vi w) {
    const int8x16_t a = bit_cast<int8x16_t>(w), b = bit_cast<int8x16_t>(x);
    const int16x8_t low = vmull_s8(vget_low_s8(a), vget_low_s8(b)), high = vmull_high_s8(a, b);
    return acc + bit_cast<vi>(vpaddq_s32(vpaddlq_s16(low), vpaddlq_s16(high)));
  }
};

void smull_run(const Int8GemmArgs& args) { Int8Tiles<Smull>::run(args); }

void smull_quantize(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                    float* scales) {
  quantize_rows<Smull, 0>(x, x_stride, rows, in, k, q, q_stride, scales);
}

}  // namespace

extern const Int8GemmKernel int8_neon{"neon",        Int8Feature::kNone, Smull::kRows,   2 * Smull::kLanes,
                                      Smull::kGroup, Int8Format::kS8,    smull_quantize, smull_run};

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
#endif
