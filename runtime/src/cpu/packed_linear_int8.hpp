// The int8 weights of one nn.Linear packed once for pfrt's own int8 GEMM kernels
// (cpu/kernels/gemm_int8*.cpp), and the per-row dynamic quantisation of its input. The
// arithmetic is the int8 contract of issue 14 (README "int8 and f16 models"):
//   weights   q_w[n][k] (int8 in [-127, 127]) with per-output-channel scales s_w[n];
//   input     amax_r = max_k |x[r][k]|; s_x[r] = amax_r / 127 (0 for a zero row);
//             q_x[r][k] = clamp(nearbyint(x[r][k] * (127 / amax_r)), -127, 127);
//   GEMM      acc[r][n] = sum_k q_x[r][k] q_w[n][k] in int32 (exact, every kernel bit for bit);
//   output    y[r][n] = float(acc) * (s_x[r] * s_w[n]) + b[n] in f32 in this order, then the
//             f32 epilogue (GELU, residual) exactly as PackedLinear's.
// Where x * (127 / amax_r) is NaN (127 / amax_r overflows for amax_r below about 3.7e-37, times
// a zero; or the row holds an infinity or a NaN) q is 0; a row holding an infinity or NaN has a
// non-finite s_x, so its outputs are not finite, as they would not be in f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "cpu/packed_linear.hpp"  // LinearEpilogue, GemmTiling

namespace pfrt::cpu {

namespace kernels {
struct Int8GemmKernel;
}

// The int8 weights (q_w [out, in] row-major, per-output-channel scales s_w) of one nn.Linear,
// packed once for the int8 kernel dispatched when it is made; read-only afterwards, so any
// number of threads and sessions may run it at once. Move-only (a moved-from one is empty).
// Use: quantize() the input rows into an activation buffer (activation_bytes), then run()
// panels and rows of it; both may be split among threads (rows of quantize, GemmTiling items
// of run), with all of quantize finished before run reads the rows.
class PackedLinearInt8 {
 public:
  // The largest `in` (K) the int32 accumulation is exact for with every kernel
  // (255 * 127 * K < 2^31 for the u8 x s8 form).
  static constexpr size_t kMaxIn = 65536;

  PackedLinearInt8() = default;
  // q_weight: out x in int8 values in [-127, 127] (std::invalid_argument for -128, or for
  // in > kMaxIn); weight_scale: `out` floats; bias: `out` floats, or null for none.
  PackedLinearInt8(const int8_t* q_weight, const float* weight_scale, size_t in, size_t out, const float* bias);
  // The same packed into `storage` (storage_bytes(in, out) bytes, 64-byte aligned), which the
  // caller owns and keeps while this lives: the weights of many layers in one block.
  PackedLinearInt8(const int8_t* q_weight, const float* weight_scale, size_t in, size_t out, const float* bias,
                   void* storage);
  // Bytes the packed weights, scales and bias of an in -> out layer take with the int8 kernel
  // in use (a multiple of 64).
  static size_t storage_bytes(size_t in, size_t out);
  PackedLinearInt8(PackedLinearInt8&& other) noexcept;
  PackedLinearInt8& operator=(PackedLinearInt8&& other) noexcept;
  PackedLinearInt8(const PackedLinearInt8&) = delete;
  PackedLinearInt8& operator=(const PackedLinearInt8&) = delete;
  ~PackedLinearInt8() = default;

  size_t in() const { return in_; }
  size_t out() const { return out_; }
  // Panels of output columns, the unit run() splits columns in.
  size_t panels() const { return panels_; }
  // Rows of the kernel's register tile: row ranges of work items are multiples of it.
  size_t rows_per_tile() const;
  // Output columns per panel.
  size_t panel_width() const;
  // The packed weights, column sums, scales and bias.
  size_t bytes() const { return bytes_; }
  // The int8 kernel that packed the weights (and runs them): "avx512-vnni", "avx-vnni", "avx2",
  // "neon-dotprod", "neon" or "scalar".
  const char* isa() const;

  // Bytes (a multiple of 64) of the quantised form of `rows` input rows, in this kernel's own
  // format (u8 = q + 128 for the VNNI kernels, s8 for NEON and scalar, s16 pairs for AVX2),
  // followed by the rows' scales. Buffers of it should be 64-byte aligned (for speed only).
  size_t activation_bytes(size_t rows) const;
  // Quantises rows [row_begin, row_end) of x (row r at x + r * x_stride, `in` floats) into
  // `activations` (activation_bytes(rows) bytes, laid out for all `rows` rows): the contract's
  // per-row dynamic quantisation. Disjoint row ranges may run on different threads.
  void quantize(size_t rows, size_t row_begin, size_t row_end, const float* x, size_t x_stride,
                void* activations) const;
  // y[r] = epilogue(float(acc[r]) * (s_x[r] * s_w) + b) for r in [row_begin, row_end) and the
  // output columns of panels [panel_begin, panel_end) (those below out()), from the
  // activations quantize() wrote for `rows` rows. y row r at y + r * y_stride, the residual's
  // row r at residual + r * residual_stride (it may be y itself). No allocation.
  void run(size_t rows, size_t row_begin, size_t row_end, const void* activations, float* y, size_t y_stride,
           size_t panel_begin, size_t panel_end, const LinearEpilogue& epilogue = {}) const;

  // For tests and diagnostics: q_x[r][k] and s_x[r] as quantize() stored them.
  int quantized(const void* activations, size_t r, size_t k) const;
  float activation_scale(size_t rows, const void* activations, size_t r) const;

 private:
  struct Free {
    Free() noexcept : owned(true) {}
    explicit Free(bool owns) noexcept : owned(owns) {}
    void operator()(unsigned char* p) const;
    bool owned;  // false: the caller's storage
  };
  size_t activation_row_bytes() const;
  const kernels::Int8GemmKernel* kernel_ = nullptr;
  std::unique_ptr<unsigned char, Free> weights_;  // the panels, then per panel sums, scales, bias
  size_t in_ = 0, out_ = 0, panels_ = 0, bytes_ = 0;
};

}  // namespace pfrt::cpu
