#include "cpu/arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace pfrt::cpu {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kSlack = 64;
}  // namespace

void Arena::Free::operator()(char* p) const { std::free(p); }

void Arena::begin(bool measure) {
  measure_ = measure;
  offset_ = 0;
}

float* Arena::take(size_t floats) {
  const size_t at = offset_;
  offset_ += (floats * sizeof(float) + kSlack + kAlign - 1) / kAlign * kAlign;
  // Through void*: the block and every offset are kAlign-aligned, which -Wcast-align cannot
  // see on strict-alignment targets (armhf).
  return measure_ ? nullptr : static_cast<float*>(static_cast<void*>(block_.get() + at));
}

void Arena::commit() {
  if (offset_ <= capacity_) return;
  void* p = std::aligned_alloc(kAlign, offset_);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, offset_);  // slack and padding are read (never used): keep them defined
  block_.reset(static_cast<char*>(p));
  capacity_ = offset_;
}

}  // namespace pfrt::cpu
