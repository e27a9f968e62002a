// The f16 GEMM for 64-bit ARM with half-precision arithmetic ("neon-fp16", ARMv8.2 FP16: Pi 5's
// Cortex-A76, Jetson Orin's A78AE), computing f16_kernel.hpp's chunked arithmetic. This source
// alone is compiled with -march=armv8.2-a+fp16 (runtime/CMakeLists.txt); the dispatch runs it
// only where Linux reports HWCAP_FPHP and HWCAP_ASIMDHP.
//
// A register tile is kRows rows x 16 columns (one panel): per row two vectors of 8 f16 sums
// (FMLA by element: one input half times 8 weights) for the current chunk, and four vectors of
// f32 sums that each finished chunk is widened into: 8 + 16 accumulators, 2 weight and 4 input
// vectors of the 32 registers.
//
// Why chunks of 16 (reference/f16_chunk_study.py, README "int8 and f16 models"): over one GEMM
// with K = 768, summing all of k in f16 errs by 0.40 % rms of y, chunks of 16 by 0.063 %, near
// the 0.048 % floor that rounding x to f16 sets, for 32 widenings and adds per 128 FMLAs of a
// tile (chunks of 32: half as many, 0.087 %). Bound: each
// output errs by at most 2^-11 + 16 * 2^-11 / (1 - 16 * 2^-11) = 0.84 % of sum |x w|, whatever K.
#if defined(__aarch64__) && defined(PFRT_KERNEL_BASE)
#if !defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#error "gemm_f16_neon.cpp needs -march=armv8.2-a+fp16 (runtime/CMakeLists.txt)"
#endif
#include <arm_neon.h>

#include "cpu/kernels/epilogue.hpp"
#include "cpu/kernels/isa_kernels.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

constexpr size_t kRows = 4, kWidth = 16, kChunk = 16;

void pack(const float* weight, size_t in, size_t out, size_t k, const float* bias, void* panels, float* bias_panels) {
  float16_t* h = static_cast<float16_t*>(panels);
  const size_t count = (out + kWidth - 1) / kWidth;
  for (size_t p = 0; p < count; ++p) {
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < kWidth; ++j) {
        const size_t n = p * kWidth + j;
        h[(p * k + i) * kWidth + j] = float16_t(n < out && i < in ? weight[n * in + i] : 0.0f);
      }
    }
    for (size_t j = 0; j < kWidth; ++j) {
      const size_t n = p * kWidth + j;
      bias_panels[n] = n < out && bias != nullptr ? bias[n] : 0.0f;
    }
  }
}

void convert(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* h, size_t h_stride) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    float16_t* hr = static_cast<float16_t*>(h) + r * h_stride;
    for (size_t i = 0; i < in; ++i) hr[i] = float16_t(xr[i]);  // fcvt: to nearest, ties even
    for (size_t i = in; i < k; ++i) hr[i] = float16_t(0.0f);
  }
}

// acc + w * x[L], fused, by element. Written out because GCC 12 turns vfmaq_laneq_f16 into a DUP
// of the lane and a vector FMLA (32 DUPs per 64 FMLAs of a tile step). The element operand must
// be in v0-v15 (constraint "x").
template <int L>
__attribute__((always_inline)) inline float16x8_t fmla_lane(float16x8_t acc, float16x8_t w, float16x8_t x) {
  __asm__("fmla %0.8h, %1.8h, %2.h[%3]" : "+w"(acc) : "w"(w), "x"(x), "i"(L));
  return acc;
}

// The chunk sums of one row and panel: acc += w (8 columns at a time) * x lane L.
template <int L>
__attribute__((always_inline)) inline void step(float16x8_t (&acc)[kRows][2], const float16x8_t (&x)[kRows],
                                                const float16_t* w) {
  const float16x8_t w0 = vld1q_f16(w + L * kWidth), w1 = vld1q_f16(w + L * kWidth + 8);
  for (size_t i = 0; i < kRows; ++i) {
    acc[i][0] = fmla_lane<L>(acc[i][0], w0, x[i]);
    acc[i][1] = fmla_lane<L>(acc[i][1], w1, x[i]);
  }
}

// One tile: rows x[0..kRows) (x[i] may repeat a row) times one panel; outputs for the first
// `rows` rows and `cols` columns.
void tile(const float16_t* const (&x)[kRows], size_t k, const float16_t* w, const float* bias, size_t rows, size_t cols,
          const F16GemmArgs& g, float* y, const float* residual) {
  float32x4_t sum[kRows][4];
  for (size_t i = 0; i < kRows; ++i) {
    for (size_t q = 0; q < 4; ++q) sum[i][q] = vdupq_n_f32(0.0f);
  }
  for (size_t k0 = 0; k0 < k; k0 += kChunk) {
    const size_t k1 = k0 + kChunk < k ? k0 + kChunk : k;
    float16x8_t acc[kRows][2];
    for (size_t i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = vdupq_n_f16(float16_t(0.0f));
    for (size_t kk = k0; kk < k1; kk += 8) {
      float16x8_t xv[kRows];
      for (size_t i = 0; i < kRows; ++i) xv[i] = vld1q_f16(x[i] + kk);
      const float16_t* wk = w + kk * kWidth;
      step<0>(acc, xv, wk);
      step<1>(acc, xv, wk);
      step<2>(acc, xv, wk);
      step<3>(acc, xv, wk);
      step<4>(acc, xv, wk);
      step<5>(acc, xv, wk);
      step<6>(acc, xv, wk);
      step<7>(acc, xv, wk);
    }
    for (size_t i = 0; i < kRows; ++i) {
      sum[i][0] = vaddq_f32(sum[i][0], vcvt_f32_f16(vget_low_f16(acc[i][0])));
      sum[i][1] = vaddq_f32(sum[i][1], vcvt_high_f32_f16(acc[i][0]));
      sum[i][2] = vaddq_f32(sum[i][2], vcvt_f32_f16(vget_low_f16(acc[i][1])));
      sum[i][3] = vaddq_f32(sum[i][3], vcvt_high_f32_f16(acc[i][1]));
    }
  }
  float t[kRows * kWidth];
  for (size_t i = 0; i < kRows; ++i) {
    for (size_t q = 0; q < 4; ++q) vst1q_f32(t + i * kWidth + 4 * q, vaddq_f32(sum[i][q], vld1q_f32(bias + 4 * q)));
  }
  finish_rows(t, kWidth, rows, cols, g.activation, residual, g.residual_stride, y, g.y_stride);
}

void run(const F16GemmArgs& g) {
  const float16_t* x = static_cast<const float16_t*>(g.x);
  for (size_t p = g.panel_begin; p < g.panel_end; ++p) {
    const float16_t* w = static_cast<const float16_t*>(g.panels) + p * g.k * kWidth;
    const size_t col = p * kWidth, cols = g.out - col < kWidth ? g.out - col : kWidth;
    for (size_t r = 0; r < g.rows; r += kRows) {
      const size_t rows = g.rows - r < kRows ? g.rows - r : kRows;
      const float16_t* const rows_x[kRows] = {x + r * g.x_stride, x + (r + (rows > 1 ? 1 : 0)) * g.x_stride,
                                              x + (r + (rows > 2 ? 2 : 0)) * g.x_stride,
                                              x + (r + (rows > 3 ? 3 : 0)) * g.x_stride};
      const float* residual = g.residual != nullptr ? g.residual + r * g.residual_stride + col : nullptr;
      tile(rows_x, g.k, w, g.bias + col, rows, cols, g, g.y + r * g.y_stride + col, residual);
    }
  }
}

}  // namespace

extern const F16GemmKernel f16_neon{"neon-fp16", kRows, kWidth, kChunk, pack, convert, run};

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
#endif
