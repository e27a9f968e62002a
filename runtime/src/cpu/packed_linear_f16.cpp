#include "cpu/packed_linear_f16.hpp"

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <utility>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::cpu {

namespace {

constexpr size_t kAlign = 64, kHalf = 2, kGroup = 8;  // f16_kernel.hpp: k is `in` rounded up to 8
size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

const kernels::F16GemmKernel& kernel_in_use() {
  const kernels::F16GemmKernel* kernel = kernels::f16_gemm_kernel();
  if (kernel == nullptr) {
    throw std::logic_error(
        "f16 linear: this CPU has no f16 arithmetic (or PFRT_F16_KERNEL=widened): f16 weights "
        "run widened to f32 (PackedLinear)");
  }
  return *kernel;
}

// Bytes of the panels (64-byte aligned) and of the bias for `kernel`.
struct Layout {
  size_t panels, panel_bytes, bias_bytes;
  Layout(const kernels::F16GemmKernel& kernel, size_t in, size_t out)
      : panels(ceil_div(out, kernel.panel_width)),
        panel_bytes(round_up(panels * round_up(in, kGroup) * kernel.panel_width * kHalf, kAlign)),
        bias_bytes(round_up(panels * kernel.panel_width * sizeof(float), kAlign)) {}
};

}  // namespace

size_t PackedLinearF16::storage_bytes(size_t in, size_t out) {
  const Layout l(kernel_in_use(), in, out);
  return l.panel_bytes + l.bias_bytes;
}

PackedLinearF16::PackedLinearF16(const float* weight, size_t in, size_t out, const float* bias)
    : PackedLinearF16(weight, in, out, bias, nullptr) {}

PackedLinearF16::PackedLinearF16(const float* weight, size_t in, size_t out, const float* bias, void* storage) {
  const kernels::F16GemmKernel& kernel = kernel_in_use();
  const Layout l(kernel, in, out);
  s_ = State{&kernel, nullptr, storage == nullptr, in, out, l.panels, l.panel_bytes + l.bias_bytes, l.panel_bytes};
  if (s_.bytes == 0) return;
  if (storage == nullptr) {
    storage = std::aligned_alloc(kAlign, s_.bytes);
    if (storage == nullptr) throw std::bad_alloc();
  }
  s_.weights = static_cast<unsigned char*>(storage);
  kernel.pack(weight, in, out, k(), bias, s_.weights, reinterpret_cast<float*>(s_.weights + s_.panel_bytes));
}

PackedLinearF16& PackedLinearF16::operator=(PackedLinearF16&& other) noexcept {
  if (this != &other) {
    if (s_.owned) std::free(s_.weights);
    s_ = std::exchange(other.s_, State{});
  }
  return *this;
}

PackedLinearF16::~PackedLinearF16() {
  if (s_.owned) std::free(s_.weights);
}

size_t PackedLinearF16::rows_per_tile() const { return s_.kernel != nullptr ? s_.kernel->rows_per_tile : 1; }
size_t PackedLinearF16::panel_width() const { return s_.kernel != nullptr ? s_.kernel->panel_width : 1; }
const char* PackedLinearF16::isa() const { return s_.kernel != nullptr ? s_.kernel->isa : "none"; }
size_t PackedLinearF16::k() const { return round_up(s_.in, kGroup); }

size_t PackedLinearF16::input_bytes(size_t rows) const { return round_up(rows * k() * kHalf, kAlign); }

void PackedLinearF16::convert(size_t row_begin, size_t row_end, const float* x, size_t x_stride, void* halves) const {
  if (row_begin >= row_end || s_.kernel == nullptr) return;
  s_.kernel->convert(x + row_begin * x_stride, x_stride, row_end - row_begin, s_.in, k(),
                     static_cast<unsigned char*>(halves) + row_begin * k() * kHalf, k());
}

void PackedLinearF16::run(size_t row_begin, size_t row_end, const void* halves, float* y, size_t y_stride,
                          size_t panel_begin, size_t panel_end, const LinearEpilogue& epilogue) const {
  if (panel_end > s_.panels) panel_end = s_.panels;
  if (s_.kernel == nullptr || row_begin >= row_end || panel_begin >= panel_end) return;
  kernels::F16GemmArgs a;
  static_cast<kernels::GemmOutput&>(a) = gemm_output(s_.out, row_begin, y, y_stride, panel_begin, panel_end, epilogue);
  a.rows = row_end - row_begin;
  a.k = k();
  a.x = static_cast<const unsigned char*>(halves) + row_begin * k() * kHalf;
  a.x_stride = k();
  a.panels = s_.weights;
  a.bias = reinterpret_cast<const float*>(s_.weights + s_.panel_bytes);
  s_.kernel->run(a);
}

}  // namespace pfrt::cpu
