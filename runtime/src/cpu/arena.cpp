#include "cpu/arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace pfrt::cpu {

void Arena::Free::operator()(float* p) const { std::free(p); }

void Arena::reserve(size_t floats) {
  if (floats <= floats_) return;
  constexpr size_t kAlign = 64;
  const size_t bytes = (floats * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);  // padding is read (never used): keep it defined
  block_.reset(static_cast<float*>(p));
  floats_ = floats;
}

}  // namespace pfrt::cpu
