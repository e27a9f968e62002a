#include "cpu/packed_linear.hpp"

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

void PackedLinear::Free::operator()(float* p) const { std::free(p); }

PackedLinear::PackedLinear(const float* weight, size_t in, size_t out, const float* bias)
    : kernel_(&kernels::gemm_kernel()), in_(in), out_(out) {
  const size_t width = kernel_->panel_width;
  panels_ = ceil_div(out, width);
  bytes_ = ceil_div((panels_ * in + panels_) * width * sizeof(float), kAlign) * kAlign;
  if (bytes_ == 0) return;
  void* p = std::aligned_alloc(kAlign, bytes_);
  if (p == nullptr) throw std::bad_alloc();
  weights_.reset(static_cast<float*>(p));
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

}  // namespace pfrt::cpu
