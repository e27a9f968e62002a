// f32 GEMM y = epilogue(x W^T + b) over weights packed once (PackedLinear). The weights are
// cut into panels of kWidth output columns (two SIMD vectors), each stored k-major: panel p,
// input k, column j at ((p * K + k) * kWidth + j), zero past `out`. A register tile of R rows
// x P panels starts from the bias and accumulates, for each k, one broadcast x value per row
// times the panels' two vectors of weights (FMAs: this source alone is compiled with
// -ffp-contract=fast), then runs the epilogue on the tile in registers or in L1. Each output is one FMA chain over k in order, whatever the tile shape,
// so a row's result does not depend on the other rows or on the panel range run.
#include "cpu/kernels/epilogue.hpp"
#include "cpu/kernels/isa_kernels.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

// Vector width and rows per tile: 2 * kRows accumulators plus two weight vectors and a
// broadcast must fit the register file (AVX2's 16 ymm registers spill with 8 rows).
#if defined(__AVX512F__)
constexpr size_t kVectorBytes = 64, kRows = 8;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr size_t kVectorBytes = 32, kRows = 6;
#elif defined(__aarch64__)
constexpr size_t kVectorBytes = 16, kRows = 8;  // 32 q registers
#else
constexpr size_t kVectorBytes = 16, kRows = 4;  // SSE2, 32-bit NEON, generic vectors
#endif

typedef float vf __attribute__((vector_size(kVectorBytes)));
constexpr size_t kLanes = kVectorBytes / sizeof(float);
constexpr size_t kWidth = 2 * kLanes;

size_t smaller(size_t a, size_t b) { return a < b ? a : b; }

// y rows [0, R) of columns [0, cols) (cols <= P * kWidth) = act(tile) + residual, from the
// tile stored row-major with P * kWidth floats a row.
template <size_t R, size_t P>
void finish(float* t, size_t rows, size_t cols, unsigned activation, const float* residual, size_t residual_stride,
            float* y, size_t y_stride) {
  finish_rows(t, P * kWidth, rows, cols, activation, residual, residual_stride, y, y_stride);
}

// One register tile: rows x[0..R) (x[i] may repeat a row) times panels w[0..P) with their
// biases; outputs for the first `rows` rows and `cols` columns.
template <size_t R, size_t P>
__attribute__((always_inline)) inline void tile(const float* const* x, size_t in, const float* const* w,
                                                const float* const* bias, size_t rows, size_t cols, unsigned activation,
                                                const float* residual, size_t residual_stride, float* y,
                                                size_t y_stride) {
  vf acc[R][P][2];
#pragma GCC unroll 8
  for (size_t q = 0; q < P; ++q) {
    vf b0, b1;
    __builtin_memcpy(&b0, bias[q], sizeof b0);
    __builtin_memcpy(&b1, bias[q] + kLanes, sizeof b1);
#pragma GCC unroll 8
    for (size_t i = 0; i < R; ++i) {
      acc[i][q][0] = b0;
      acc[i][q][1] = b1;
    }
  }
  for (size_t k = 0; k < in; ++k) {
    vf w0[P], w1[P];
#pragma GCC unroll 8
    for (size_t q = 0; q < P; ++q) {
      __builtin_memcpy(&w0[q], w[q] + k * kWidth, sizeof(vf));
      __builtin_memcpy(&w1[q], w[q] + k * kWidth + kLanes, sizeof(vf));
    }
#pragma GCC unroll 8
    for (size_t i = 0; i < R; ++i) {
      const float a = x[i][k];
#pragma GCC unroll 8
      for (size_t q = 0; q < P; ++q) {
        acc[i][q][0] += a * w0[q];
        acc[i][q][1] += a * w1[q];
      }
    }
  }
  if (activation == 0 && cols == P * kWidth) {  // whole panels: straight from the registers
#pragma GCC unroll 8
    for (size_t i = 0; i < R; ++i) {
      if (i >= rows) break;
      float* yi = y + i * y_stride;
#pragma GCC unroll 8
      for (size_t q = 0; q < P; ++q) {
#pragma GCC unroll 2
        for (size_t h = 0; h < 2; ++h) {
          vf v = acc[i][q][h];
          if (residual != nullptr) {
            vf r;
            __builtin_memcpy(&r, residual + i * residual_stride + q * kWidth + h * kLanes, sizeof r);
            v += r;
          }
          __builtin_memcpy(yi + q * kWidth + h * kLanes, &v, sizeof v);
        }
      }
    }
    return;
  }
  alignas(kVectorBytes) float t[R * P * kWidth];
#pragma GCC unroll 8
  for (size_t i = 0; i < R; ++i) {
#pragma GCC unroll 8
    for (size_t q = 0; q < P; ++q) {
      __builtin_memcpy(t + (i * P + q) * kWidth, &acc[i][q][0], sizeof(vf));
      __builtin_memcpy(t + (i * P + q) * kWidth + kLanes, &acc[i][q][1], sizeof(vf));
    }
  }
  finish<R, P>(t, rows, cols, activation, residual, residual_stride, y, y_stride);
}

struct Gemm {
  size_t rows, in;
  const float* x;
  size_t x_stride;
  const float* weights;
  const float* bias;
  size_t out;
  float* y;
  size_t y_stride;
  unsigned activation;
  const float* residual;
  size_t residual_stride;
};

// Rows [r, r + count) (count <= R; the extra row pointers repeat the last row and are not
// stored) times panels [p, p + P).
template <size_t R, size_t P>
void run_tile(const Gemm& g, size_t r, size_t count, size_t p) {
  const float* x[R];
  const float* w[P];
  const float* b[P];
  for (size_t i = 0; i < R; ++i) x[i] = g.x + (r + smaller(i, count - 1)) * g.x_stride;
  for (size_t q = 0; q < P; ++q) {
    w[q] = g.weights + (p + q) * g.in * kWidth;
    b[q] = g.bias + (p + q) * kWidth;
  }
  const size_t col = p * kWidth;
  const float* residual = g.residual != nullptr ? g.residual + r * g.residual_stride + col : nullptr;
  tile<R, P>(x, g.in, w, b, count, smaller(P * kWidth, g.out - col), g.activation, residual, g.residual_stride,
             g.y + r * g.y_stride + col, g.y_stride);
}

template <size_t R, size_t P>
void run_group(const Gemm& g, size_t r, size_t count, size_t p, size_t panels) {
  if constexpr (P > 1) {
    if (panels < P) return run_group<R, P - 1>(g, r, count, p, panels);
  }
  run_tile<R, P>(g, r, count, p);
}

// Rows [r, r + count) over panels [begin, end) in groups of at most P panels, as even as
// possible (a short row block keeps more accumulators busy with more panels at once).
template <size_t R, size_t P>
void run_panels(const Gemm& g, size_t r, size_t count, size_t begin, size_t end) {
  const size_t n = end - begin, groups = (n + P - 1) / P;
  for (size_t i = 0; i < groups; ++i) {
    const size_t first = begin + n * i / groups, last = begin + n * (i + 1) / groups;
    run_group<R, P>(g, r, count, first, last - first);
  }
}

}  // namespace

size_t gemm_rows_per_tile() { return kRows; }
size_t gemm_panel_width() { return kWidth; }

void gemm_pack(const float* weight, size_t in, size_t out, const float* bias, float* panels, float* bias_panels) {
  const size_t count = (out + kWidth - 1) / kWidth;
  for (size_t p = 0; p < count; ++p) {
    for (size_t k = 0; k < in; ++k) {
      float* dst = panels + (p * in + k) * kWidth;
      for (size_t j = 0; j < kWidth; ++j) {
        const size_t o = p * kWidth + j;
        dst[j] = o < out ? weight[o * in + k] : 0.0f;
      }
    }
    for (size_t j = 0; j < kWidth; ++j) {
      const size_t o = p * kWidth + j;
      bias_panels[p * kWidth + j] = bias != nullptr && o < out ? bias[o] : 0.0f;
    }
  }
}

void gemm(size_t rows, size_t in, const float* x, size_t x_stride, const float* panels, const float* bias_panels,
          size_t out, size_t panel_begin, size_t panel_end, float* y, size_t y_stride, unsigned activation,
          const float* residual, size_t residual_stride) {
  if (rows == 0 || panel_begin >= panel_end) return;
  const Gemm g{rows, in, x, x_stride, panels, bias_panels, out, y, y_stride, activation, residual, residual_stride};
  // Whole tiles panel by panel (one panel's weights serve every row tile from cache), then the
  // remaining rows, more panels at a time the fewer they are (measured on AVX-512 for one and
  // two rows: 1.0-1.3x and 1.5x the speed of a whole tile with repeated rows).
  const size_t whole = rows / kRows * kRows, left = rows - whole;
  for (size_t p = panel_begin; p < panel_end; ++p) {
    for (size_t r = 0; r < whole; r += kRows) run_tile<kRows, 1>(g, r, kRows, p);
  }
  if (left == 1) {
    run_panels<1, kRows / 2>(g, whole, 1, panel_begin, panel_end);
  } else if (left == 2) {
    run_panels<2, kRows / 2>(g, whole, 2, panel_begin, panel_end);
  } else if (left > 0 && left <= kRows / 2) {
    run_panels<kRows / 2, 2>(g, whole, left, panel_begin, panel_end);
  } else if (left > 0) {
    for (size_t p = panel_begin; p < panel_end; ++p) run_tile<kRows, 1>(g, whole, left, p);
  }
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
