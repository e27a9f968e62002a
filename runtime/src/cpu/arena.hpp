// An activation arena: one zeroed, 64-byte aligned block that the execution plan carves into
// buffers. It grows (once) when a larger batch is planned and is otherwise reused, so runs do
// not allocate.
#pragma once

#include <cstddef>

#include "cpu/page_block.hpp"

namespace pfrt::cpu {

class Arena {
 public:
  // At least `floats` floats; the contents are not kept when it grows.
  void reserve(size_t floats);
  float* data() const { return block_.floats(); }
  size_t bytes() const { return block_.bytes(); }

 private:
  PageBlock block_;
};

}  // namespace pfrt::cpu
