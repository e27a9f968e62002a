// The int8 GEMM for 64-bit ARM with the dot-product extension ("neon-dotprod", ARMv8.2+: Pi 5,
// Jetson Orin): sdot sums four int8 products a lane into int32. The instruction comes from a
// #pragma target on this file alone: the dispatch runs the kernel only where the kernel reports
// HWCAP_ASIMDDP.
#if defined(__aarch64__) && defined(PFRT_KERNEL_BASE)
// arm_neon.h declares sdot for armv8.2-a+dotprod, and every CPU with the extension is ARMv8.2+.
#pragma GCC target("arch=armv8.2-a+dotprod")
#include <arm_neon.h>

#include "cpu/kernels/int8_tile.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

struct Sdot {
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
  static vi dot(vi acc, vi x, vi w) {
    return bit_cast<vi>(vdotq_s32(bit_cast<int32x4_t>(acc), bit_cast<int8x16_t>(w), bit_cast<int8x16_t>(x)));
  }
};

void sdot_run(const Int8GemmArgs& args) { Int8Tiles<Sdot>::run(args); }

void sdot_quantize(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                   float* scales) {
  quantize_rows<Sdot, 0>(x, x_stride, rows, in, k, q, q_stride, scales);
}

}  // namespace

extern const Int8GemmKernel int8_neon_dotprod{"neon-dotprod", Int8Feature::kDotprod, Sdot::kRows,   2 * Sdot::kLanes,
                                              Sdot::kGroup,   Int8Format::kS8,       sdot_quantize, sdot_run};

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
#endif
