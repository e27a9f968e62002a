#include "cpu/packed_linear_int8.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::cpu {

namespace {

constexpr size_t kAlign = 64;
size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

// Byte sizes of the packed parts for `kernel`: the panels (64-byte aligned) and the per-panel
// correction, scales and bias.
struct Layout {
  size_t k, panels, panel_bytes, params_bytes;
  Layout(const kernels::Int8GemmKernel& kernel, size_t in, size_t out)
      : k(round_up(in, kernel.k_group)),
        panels(ceil_div(out, kernel.panel_width)),
        panel_bytes(round_up(panels * k * kernel.panel_width, kAlign)),
        params_bytes(round_up(panels * 3 * kernel.panel_width * sizeof(uint32_t), kAlign)) {}
};

size_t format_bytes(kernels::Int8Format format) { return format == kernels::Int8Format::kS16 ? 2 : 1; }

}  // namespace

void PackedLinearInt8::Free::operator()(unsigned char* p) const {
  if (owned) std::free(p);
}

size_t PackedLinearInt8::storage_bytes(size_t in, size_t out) {
  const Layout l(kernels::int8_gemm_kernel(), in, out);
  return l.panel_bytes + l.params_bytes;
}

PackedLinearInt8::PackedLinearInt8(const int8_t* q_weight, const float* weight_scale, size_t in, size_t out,
                                   const float* bias)
    : PackedLinearInt8(q_weight, weight_scale, in, out, bias, nullptr) {}

PackedLinearInt8::PackedLinearInt8(const int8_t* q_weight, const float* weight_scale, size_t in, size_t out,
                                   const float* bias, void* storage)
    : kernel_(&kernels::int8_gemm_kernel()), weights_(nullptr, Free(storage == nullptr)), in_(in), out_(out) {
  if (in > kMaxIn) {
    throw std::invalid_argument("int8 linear: " + std::to_string(in) + " inputs, more than the " +
                                std::to_string(kMaxIn) + " whose int32 sums are exact");
  }
  for (size_t i = 0; i < in * out; ++i) {
    if (q_weight[i] == -128) {
      throw std::invalid_argument("int8 linear: weight " + std::to_string(i / in) + "," + std::to_string(i % in) +
                                  " is -128; int8 weights must lie in [-127, 127]");
    }
  }
  const Layout l(*kernel_, in, out);
  const size_t width = kernel_->panel_width, group = kernel_->k_group;
  panels_ = l.panels;
  bytes_ = l.panel_bytes + l.params_bytes;
  if (bytes_ == 0) return;
  if (storage == nullptr) {
    storage = std::aligned_alloc(kAlign, bytes_);
    if (storage == nullptr) throw std::bad_alloc();
  }
  weights_.reset(static_cast<unsigned char*>(storage));
  int8_t* panels = reinterpret_cast<int8_t*>(weights_.get());
  std::memset(panels, 0, l.panel_bytes);
  const int32_t offset = kernel_->format == kernels::Int8Format::kU8 ? 128 : 0;
  for (size_t p = 0; p < panels_; ++p) {
    int8_t* panel = panels + p * l.k * width;
    int32_t* correction = reinterpret_cast<int32_t*>(weights_.get() + l.panel_bytes) + 3 * p * width;
    float* scale = reinterpret_cast<float*>(correction + width);
    float* b = scale + width;
    for (size_t j = 0; j < width; ++j) {
      const size_t o = p * width + j;
      int32_t sum = 0;
      if (o < out) {
        for (size_t k = 0; k < in; ++k) {
          const int8_t w = q_weight[o * in + k];
          panel[((k / group) * width + j) * group + k % group] = w;
          sum += w;
        }
      }
      correction[j] = offset * sum;
      scale[j] = o < out ? weight_scale[o] : 0.0f;
      b[j] = o < out && bias != nullptr ? bias[o] : 0.0f;
    }
  }
}

PackedLinearInt8::PackedLinearInt8(PackedLinearInt8&& other) noexcept
    : kernel_(std::exchange(other.kernel_, nullptr)),
      weights_(std::move(other.weights_)),
      in_(std::exchange(other.in_, 0)),
      out_(std::exchange(other.out_, 0)),
      panels_(std::exchange(other.panels_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

PackedLinearInt8& PackedLinearInt8::operator=(PackedLinearInt8&& other) noexcept {
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

size_t PackedLinearInt8::rows_per_tile() const {
  return (kernel_ != nullptr ? *kernel_ : kernels::int8_gemm_kernel()).rows_per_tile;
}

size_t PackedLinearInt8::panel_width() const {
  return (kernel_ != nullptr ? *kernel_ : kernels::int8_gemm_kernel()).panel_width;
}

const char* PackedLinearInt8::isa() const { return (kernel_ != nullptr ? *kernel_ : kernels::int8_gemm_kernel()).isa; }

size_t PackedLinearInt8::activation_row_bytes() const {
  const kernels::Int8GemmKernel& kernel = kernel_ != nullptr ? *kernel_ : kernels::int8_gemm_kernel();
  return round_up(round_up(in_, kernel.k_group) * format_bytes(kernel.format), kAlign);
}

size_t PackedLinearInt8::activation_bytes(size_t rows) const {
  return rows * activation_row_bytes() + round_up(rows * sizeof(float), kAlign);
}

void PackedLinearInt8::quantize(size_t rows, size_t row_begin, size_t row_end, const float* x, size_t x_stride,
                                void* activations) const {
  if (kernel_ == nullptr || row_begin >= row_end) return;
  const size_t row_bytes = activation_row_bytes();
  unsigned char* a = static_cast<unsigned char*>(activations);
  kernel_->quantize(x + row_begin * x_stride, x_stride, row_end - row_begin, in_, round_up(in_, kernel_->k_group),
                    a + row_begin * row_bytes, row_bytes, reinterpret_cast<float*>(a + rows * row_bytes) + row_begin);
}

void PackedLinearInt8::run(size_t rows, size_t row_begin, size_t row_end, const void* activations, float* y,
                           size_t y_stride, size_t panel_begin, size_t panel_end,
                           const LinearEpilogue& epilogue) const {
  if (panel_end > panels_) panel_end = panels_;
  if (kernel_ == nullptr || row_begin >= row_end || panel_begin >= panel_end) return;
  const Layout l(*kernel_, in_, out_);
  const size_t row_bytes = activation_row_bytes();
  const unsigned char* a = static_cast<const unsigned char*>(activations);
  kernels::Int8GemmArgs args;
  args.rows = row_end - row_begin;
  args.k = l.k;
  args.q = a + row_begin * row_bytes;
  args.q_stride = row_bytes;
  args.x_scales = reinterpret_cast<const float*>(a + rows * row_bytes) + row_begin;
  args.panels = reinterpret_cast<const int8_t*>(weights_.get());
  args.params = reinterpret_cast<const uint32_t*>(weights_.get() + l.panel_bytes);
  static_cast<kernels::GemmOutput&>(args) = gemm_output(out_, row_begin, y, y_stride, panel_begin, panel_end, epilogue);
  kernel_->run(args);
}

int PackedLinearInt8::quantized(const void* activations, size_t r, size_t k) const {
  const unsigned char* row = static_cast<const unsigned char*>(activations) + r * activation_row_bytes();
  switch (kernel_->format) {
    case kernels::Int8Format::kS8: return reinterpret_cast<const int8_t*>(row)[k];
    case kernels::Int8Format::kU8: return int(row[k]) - 128;
    case kernels::Int8Format::kS16: return reinterpret_cast<const int16_t*>(row)[k];
  }
  return 0;
}

float PackedLinearInt8::activation_scale(size_t rows, const void* activations, size_t r) const {
  return reinterpret_cast<const float*>(static_cast<const unsigned char*>(activations) +
                                        rows * activation_row_bytes())[r];
}

}  // namespace pfrt::cpu
