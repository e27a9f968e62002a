#include "cpu/packed_linear.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::cpu {

static_assert(unsigned(Activation::kNone) == 0 && unsigned(Activation::kGeluErf) == 1 &&
                  unsigned(Activation::kGeluTanh) == 2,
              "kernels::GemmKernel::run numbers the activations so");

namespace {
constexpr size_t kAlign = 64;
size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
}  // namespace

void PackedLinear::Free::operator()(float* p) const {
  if (owned) std::free(p);
}

size_t PackedLinear::storage_bytes(size_t in, size_t out) {
  const size_t width = kernels::gemm_kernel().panel_width, panels = ceil_div(out, width);
  return ceil_div((panels * in + panels) * width * sizeof(float), kAlign) * kAlign;
}

PackedLinear::PackedLinear(const float* weight, size_t in, size_t out, const float* bias)
    : PackedLinear(weight, in, out, bias, nullptr) {}

PackedLinear::PackedLinear(const float* weight, size_t in, size_t out, const float* bias, float* storage)
    : kernel_(&kernels::gemm_kernel()), weights_(nullptr, Free(storage == nullptr)), in_(in), out_(out) {
  const size_t width = kernel_->panel_width;
  panels_ = ceil_div(out, width);
  bytes_ = storage_bytes(in, out);
  if (bytes_ == 0) return;
  if (storage == nullptr) {
    storage = static_cast<float*>(std::aligned_alloc(kAlign, bytes_));
    if (storage == nullptr) throw std::bad_alloc();
  }
  weights_.reset(storage);
  kernel_->pack(weight, in, out, bias, weights_.get(), weights_.get() + panels_ * in * width);
}

PackedLinear::PackedLinear(PackedLinear&& other) noexcept
    : kernel_(std::exchange(other.kernel_, nullptr)),
      weights_(std::move(other.weights_)),
      in_(std::exchange(other.in_, 0)),
      out_(std::exchange(other.out_, 0)),
      panels_(std::exchange(other.panels_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

PackedLinear& PackedLinear::operator=(PackedLinear&& other) noexcept {
  if (this != &other) {
    kernel_ = std::exchange(other.kernel_, nullptr);
    weights_ = std::move(other.weights_);
    in_ = std::exchange(other.in_, 0);
    out_ = std::exchange(other.out_, 0);
    panels_ = std::exchange(other.panels_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

size_t PackedLinear::rows_per_tile() const {
  return kernel_ != nullptr ? kernel_->rows_per_tile : kernels::gemm_kernel().rows_per_tile;
}

size_t PackedLinear::panel_width() const {
  return kernel_ != nullptr ? kernel_->panel_width : kernels::gemm_kernel().panel_width;
}

const char* PackedLinear::isa() const { return kernel_ != nullptr ? kernel_->isa : kernels::kernel_isa(); }

void PackedLinear::run(size_t rows, const float* x, size_t x_stride, float* y, size_t y_stride, size_t panel_begin,
                       size_t panel_end, const LinearEpilogue& epilogue) const {
  if (panel_end > panels_) panel_end = panels_;
  if (rows == 0 || panel_begin >= panel_end) return;
  const float* panels = weights_.get();
  kernel_->run(rows, in_, x, x_stride, panels, panels + panels_ * in_ * kernel_->panel_width, out_, panel_begin,
               panel_end, y, y_stride, unsigned(epilogue.activation), epilogue.residual, epilogue.residual_stride);
}

kernels::GemmOutput gemm_output(size_t out, size_t row_begin, float* y, size_t y_stride, size_t panel_begin,
                                size_t panel_end, const LinearEpilogue& epilogue) {
  kernels::GemmOutput o;
  o.out = out;
  o.panel_begin = panel_begin;
  o.panel_end = panel_end;
  o.y = y + row_begin * y_stride;
  o.y_stride = y_stride;
  o.activation = unsigned(epilogue.activation);
  o.residual = epilogue.residual != nullptr ? epilogue.residual + row_begin * epilogue.residual_stride : nullptr;
  o.residual_stride = epilogue.residual_stride;
  return o;
}

GemmItem GemmTiling::item(size_t i) const {
  const size_t rb = i / panel_blocks, pb = i % panel_blocks;
  const size_t row_begin = rb * rows_per_block, panel_begin = pb * panels_per_block;
  return GemmItem{row_begin, std::min(rows, row_begin + rows_per_block), panel_begin,
                  std::min(panels, panel_begin + panels_per_block)};
}

GemmTiling gemm_tiling(size_t rows, size_t panels, size_t rows_per_tile, size_t threads) {
  GemmTiling t;
  t.rows = rows;
  t.panels = panels;
  if (rows == 0 || panels == 0) return t;
  const size_t row_tiles = ceil_div(rows, rows_per_tile);
  t.row_blocks = t.panel_blocks = 1;
  t.rows_per_block = row_tiles * rows_per_tile;
  t.panels_per_block = panels;
  if (threads <= 1) return t;
  // At most 4 items a thread, and none under 4 register tiles unless a thread would idle.
  constexpr size_t kItemsPerThread = 4, kMinTiles = 4;
  const size_t tiles = row_tiles * panels;
  const size_t max_items = std::min(kItemsPerThread * threads, std::max(std::min(threads, tiles), tiles / kMinTiles));
  // Items are numbered row block by row block, and a WorkerTeam gives each thread a contiguous
  // range of them first. The best cut: the fewest tiles on the busiest thread; among equals,
  // more items (for threads that join late), then more panel blocks (an item then reads a
  // smaller share of the weights). Preferred to it, when its busiest thread has at most 1/8
  // more tiles: the best cut into row blocks that are a multiple of the threads, which gives
  // each thread whole row blocks, the rows it had in the stage before (worker_team.hpp). Each
  // distinct block size is tried once.
  struct Cut {
    size_t span = SIZE_MAX, items = 0, row_blocks = 1, panel_blocks = 1, tiles_per_block = 0, panels_per_block = 0;
    bool better_than(const Cut& o) const { return span < o.span || (span == o.span && items >= o.items); }
  } best, local;
  for (size_t pb = 1; pb <= std::min(panels, max_items);) {
    const size_t ppb = ceil_div(panels, pb);
    for (size_t rb = 1; rb <= row_tiles && rb * pb <= max_items;) {
      const size_t tpb = ceil_div(row_tiles, rb);
      const Cut cut{ceil_div(pb * rb, threads) * tpb * ppb, pb * rb, rb, pb, tpb, ppb};
      if (cut.better_than(best)) best = cut;
      if (rb % threads == 0 && cut.better_than(local)) local = cut;
      if (tpb == 1) break;
      rb = ceil_div(row_tiles, tpb - 1);  // the next block count with fewer tiles a block
    }
    if (ppb == 1) break;
    pb = ceil_div(panels, ppb - 1);
  }
  const Cut& chosen = local.items != 0 && 8 * local.span <= 9 * best.span ? local : best;
  t.row_blocks = chosen.row_blocks;
  t.panel_blocks = chosen.panel_blocks;
  t.rows_per_block = chosen.tiles_per_block * rows_per_tile;
  t.panels_per_block = chosen.panels_per_block;
  return t;
}

}  // namespace pfrt::cpu
