// An activation arena: one zeroed, 64-byte aligned block that the execution plan carves into
// buffers. It grows (once) when a larger batch is planned and is otherwise reused, so runs do
// not allocate.
#pragma once

#include <cstddef>
#include <memory>

namespace pfrt::cpu {

class Arena {
 public:
  // At least `floats` floats; the contents are not kept when it grows.
  void reserve(size_t floats);
  float* data() const { return block_.get(); }
  size_t bytes() const { return floats_ * sizeof(float); }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> block_;
  size_t floats_ = 0;
};

}  // namespace pfrt::cpu
