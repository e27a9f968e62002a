#include "cpu/arena.hpp"

namespace pfrt::cpu {

void Arena::reserve(size_t floats) {
  if (floats * sizeof(float) <= block_.bytes()) return;
  block_ = PageBlock(floats * sizeof(float));  // zeroed: padding is read (never used), keep it defined
}

}  // namespace pfrt::cpu
