// The weights of one nn.Linear packed once for pfrt's own GEMM kernel (cpu/kernels/gemm.cpp),
// and how a GEMM is cut into work items for a pool of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "cpu/kernels/gemm_output.hpp"

namespace pfrt::cpu {

namespace kernels {
struct GemmKernel;
}

enum class Activation : uint8_t { kNone, kGeluErf, kGeluTanh };

struct LinearEpilogue {
  Activation activation = Activation::kNone;  // applied after the bias
  const float* residual = nullptr;            // then added: y = act(x W^T + b) + residual
  size_t residual_stride = 0;                 // floats between residual rows
};

// The weights of one nn.Linear (y = x W^T + b, W [out, in] row-major as PyTorch stores it),
// packed once for the kernel dispatched when it is made; read-only afterwards, so any number of
// threads and sessions may run it at once. Move-only (a moved-from one is empty).
class PackedLinear {
 public:
  PackedLinear() = default;
  // bias: `out` floats, or null for none.
  PackedLinear(const float* weight, size_t in, size_t out, const float* bias);
  // The same packed into `storage` (storage_bytes(in, out) bytes, 64-byte aligned), which the
  // caller owns and keeps while this lives: the weights of many layers in one block.
  PackedLinear(const float* weight, size_t in, size_t out, const float* bias, float* storage);
  // Bytes the packed weights of an in -> out layer take (a multiple of 64).
  static size_t storage_bytes(size_t in, size_t out);
  PackedLinear(PackedLinear&& other) noexcept;
  PackedLinear& operator=(PackedLinear&& other) noexcept;
  PackedLinear(const PackedLinear&) = delete;
  PackedLinear& operator=(const PackedLinear&) = delete;
  ~PackedLinear() = default;

  size_t in() const { return in_; }
  size_t out() const { return out_; }
  // Panels of output columns, the unit run() splits columns in.
  size_t panels() const { return panels_; }
  // Rows of the kernel's register tile: row ranges of work items are multiples of it.
  size_t rows_per_tile() const;
  // Output columns per panel.
  size_t panel_width() const;
  // The packed weights and bias.
  size_t bytes() const { return bytes_; }
  // The instruction set whose kernel packed the weights (and runs them).
  const char* isa() const;

  // y[r] = epilogue(x[r] W^T + b) for r in [0, rows), output columns of panels
  // [panel_begin, panel_end) (those below out()). x rows x_stride floats apart, y rows
  // y_stride apart; the residual may be y itself. No allocation.
  void run(size_t rows, const float* x, size_t x_stride, float* y, size_t y_stride, size_t panel_begin,
           size_t panel_end, const LinearEpilogue& epilogue = {}) const;

 private:
  struct Free {
    Free() noexcept : owned(true) {}
    explicit Free(bool owns) noexcept : owned(owns) {}
    void operator()(float* p) const;
    bool owned;  // false: the caller's storage
  };
  const kernels::GemmKernel* kernel_ = nullptr;
  std::unique_ptr<float, Free> weights_;  // the panels, then the bias padded to them
  size_t in_ = 0, out_ = 0, panels_ = 0, bytes_ = 0;
};

// The output part of an int8 or f16 kernel's arguments for rows from row_begin: `out` columns
// of panels [panel_begin, panel_end) into y (row 0 at y), then the epilogue.
kernels::GemmOutput gemm_output(size_t out, size_t row_begin, float* y, size_t y_stride, size_t panel_begin,
                                size_t panel_end, const LinearEpilogue& epilogue);

// One work item of a GEMM: rows [row_begin, row_end) x panels [panel_begin, panel_end).
struct GemmItem {
  size_t row_begin, row_end, panel_begin, panel_end;
};

// How a GEMM of `rows` rows and `panels` panels is cut into row_blocks x panel_blocks work
// items: row ranges of rows_per_block rows (a multiple of the tile's rows; the last block may
// be shorter), panel ranges of panels_per_block panels (the last may be shorter). Items are
// numbered row block by row block, so that a contiguous range of them (what a WorkerTeam
// thread takes first) covers whole row blocks.
struct GemmTiling {
  size_t rows = 0, panels = 0;
  size_t row_blocks = 0, panel_blocks = 0, rows_per_block = 0, panels_per_block = 0;
  size_t items() const { return row_blocks * panel_blocks; }
  GemmItem item(size_t i) const;
};

// The cut that balances `threads` threads best, with at most 4 items per thread (more when
// equally balanced, for threads that join late) and none under 4 register tiles (tile rows x
// panel) unless that leaves a thread idle; with one thread, one item. Items are numbered row
// block by row block; a cut whose row blocks are a multiple of the threads is preferred when
// nearly as balanced (each thread's range of items is then its own rows). Pure and cheap (no
// allocation, under a microsecond for 16 threads): called on every run.
GemmTiling gemm_tiling(size_t rows, size_t panels, size_t rows_per_tile, size_t threads);

}  // namespace pfrt::cpu
