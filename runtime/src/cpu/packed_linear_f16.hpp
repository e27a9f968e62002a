// The weights of one nn.Linear of an f16 model packed once as f16 for pfrt's f16 GEMM kernel
// (cpu/kernels/gemm_f16_*.cpp: ARMv8.2 FP16), and the conversion of its input rows to f16. The
// arithmetic is f16_kernel.hpp's: f16 products summed in f16 over chunks of 16 k, the chunks'
// sums added in f32, then the bias and the f32 epilogue exactly as PackedLinear's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cpu/packed_linear.hpp"  // LinearEpilogue

namespace pfrt::cpu {

namespace kernels {
struct F16GemmKernel;
}

// Read-only once made: any number of threads and sessions may run it at once. Move-only (a
// moved-from one is empty). Use: convert() the input rows into a buffer of input_bytes(rows),
// then run() panels and rows of it; both may be split among threads (rows of convert,
// GemmTiling items of run), with all of convert finished before run reads the rows.
class PackedLinearF16 {
 public:
  PackedLinearF16() = default;
  // weight: out x in values (an f16 model's weights, as the model holds them widened to f32;
  // others are rounded to f16); bias: `out` floats or null. Packed for kernels::f16_gemm_kernel(),
  // std::logic_error where there is none (no f16 arithmetic on this CPU, or switched off).
  PackedLinearF16(const float* weight, size_t in, size_t out, const float* bias);
  // The same packed into `storage` (storage_bytes(in, out) bytes, 64-byte aligned), which the
  // caller owns and keeps while this lives.
  PackedLinearF16(const float* weight, size_t in, size_t out, const float* bias, void* storage);
  // Bytes the packed weights and bias of an in -> out layer take with the f16 kernel in use (a
  // multiple of 64; about half of PackedLinear's).
  static size_t storage_bytes(size_t in, size_t out);
  PackedLinearF16(PackedLinearF16&& other) noexcept { *this = std::move(other); }
  PackedLinearF16& operator=(PackedLinearF16&& other) noexcept;
  PackedLinearF16(const PackedLinearF16&) = delete;
  PackedLinearF16& operator=(const PackedLinearF16&) = delete;
  ~PackedLinearF16();

  size_t in() const { return s_.in; }
  size_t out() const { return s_.out; }
  size_t panels() const { return s_.panels; }
  size_t rows_per_tile() const;
  size_t panel_width() const;
  size_t bytes() const { return s_.bytes; }
  // The kernel that packed the weights (and runs them): "neon-fp16".
  const char* isa() const;

  // Bytes (a multiple of 64) of `rows` input rows converted to f16.
  size_t input_bytes(size_t rows) const;
  // Rows [row_begin, row_end) of x (row r at x + r * x_stride, `in` floats) rounded to f16 into
  // `halves` (input_bytes(rows) bytes). Disjoint row ranges may run on different threads.
  void convert(size_t row_begin, size_t row_end, const float* x, size_t x_stride, void* halves) const;
  // y[r] = epilogue(chunked f16 sums of x16[r] W^T + b) for r in [row_begin, row_end) and the
  // output columns of panels [panel_begin, panel_end) (those below out()), from the rows
  // convert() wrote. y row r at y + r * y_stride, the residual's row r at residual +
  // r * residual_stride (it may be y itself). No allocation.
  void run(size_t row_begin, size_t row_end, const void* halves, float* y, size_t y_stride, size_t panel_begin,
           size_t panel_end, const LinearEpilogue& epilogue = {}) const;

 private:
  size_t k() const;  // `in` rounded up to 8: halves per converted row
  struct State {
    const kernels::F16GemmKernel* kernel = nullptr;
    unsigned char* weights = nullptr;  // the panels, then the bias
    bool owned = false;                // weights from aligned_alloc (else the caller's storage)
    size_t in = 0, out = 0, panels = 0, bytes = 0, panel_bytes = 0;
  };
  State s_;  // all of it moves at once; a moved-from one holds State{}
};

}  // namespace pfrt::cpu
