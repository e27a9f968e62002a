// The portable int8 GEMM and quantisation (kernel "scalar"): plain loops over the packed
// layout of int8_kernel.hpp with s8 activations, the version every other int8 kernel must
// equal bit for bit. Also the list of the int8 kernels each instruction set's objects hold
// (the x86 and NEON ones are in gemm_int8_x86.cpp and gemm_int8_neon.cpp).
#include "cpu/kernels/epilogue.hpp"
#include "cpu/kernels/isa_kernels.hpp"
#include "cpu/kernels/quantize_row.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

#if defined(PFRT_KERNEL_BASE)
namespace {

constexpr size_t kWidth = 8, kGroup = 4;

void scalar_quantize(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                     float* scales) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    float inv;
    scales[r] = row_scale(abs_max_bits(xr, in, 0), &inv);
    quantize_tail<int8_t, 0>(xr, 0, in, k, inv, static_cast<int8_t*>(q) + r * q_stride);
  }
}

void scalar_run(const Int8GemmArgs& g) {
  const size_t groups = g.k / kGroup;
  for (size_t p = g.panel_begin; p < g.panel_end; ++p) {
    const int8_t* w = g.panels + p * g.k * kWidth;
    const float* scale = reinterpret_cast<const float*>(g.params + (3 * p + 1) * kWidth);
    const float* bias = scale + kWidth;
    const size_t col = p * kWidth, cols = g.out - col < kWidth ? g.out - col : kWidth;
    for (size_t r = 0; r < g.rows; ++r) {
      const int8_t* q = static_cast<const int8_t*>(g.q) + r * g.q_stride;
      int32_t acc[kWidth] = {};
      for (size_t i = 0; i < groups; ++i) {
        for (size_t j = 0; j < kWidth; ++j) {
          for (size_t t = 0; t < kGroup; ++t) {
            acc[j] += int32_t(q[i * kGroup + t]) * int32_t(w[(i * kWidth + j) * kGroup + t]);
          }
        }
      }
      float tile[kWidth];
      for (size_t j = 0; j < kWidth; ++j) tile[j] = float(acc[j]) * (g.x_scales[r] * scale[j]) + bias[j];
      finish_rows(tile, kWidth, 1, cols, g.activation,
                  g.residual != nullptr ? g.residual + r * g.residual_stride + col : nullptr, 0,
                  g.y + r * g.y_stride + col, 0);
    }
  }
}

}  // namespace

extern const Int8GemmKernel int8_scalar{"scalar",        Int8Feature::kNone, 1,         kWidth, kGroup,
                                        Int8Format::kS8, scalar_quantize,    scalar_run};
#endif

const Int8GemmKernel* const* int8_gemm_kernels(size_t* count) {
  static const Int8GemmKernel* const kernels[] = {
#if defined(__AVX512F__)
    &int8_avx512_vnni,
#elif defined(__AVX2__)
    &int8_avx_vnni,
    &int8_avx2,
#endif
#if defined(PFRT_KERNEL_BASE) && defined(__aarch64__)
    &int8_neon_dotprod,
    &int8_neon,
#endif
#if defined(PFRT_KERNEL_BASE)
    &int8_scalar,
#endif
    nullptr
  };
  *count = sizeof kernels / sizeof kernels[0] - 1;
  return kernels;
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
