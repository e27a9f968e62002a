// An activation arena: one 64-byte aligned block carved into the buffers of a session (or of
// one branch slot) by a layout pass. The layout is computed once per batch capacity; the block
// grows (once) when a larger batch arrives and is otherwise reused, so runs do not allocate.
#pragma once

#include <cstddef>
#include <memory>

namespace pfrt::cpu {

class Arena {
 public:
  // Starts a layout pass. With `measure` true, take() returns placeholders and only sizes are
  // summed; then call commit() to allocate and run the same pass again with measure false.
  void begin(bool measure);
  // A buffer of `floats` floats, 64-byte aligned, followed by at least 64 bytes of slack that
  // may be read (XNNPACK reads up to XNN_EXTRA_BYTES past an input).
  float* take(size_t floats);
  // Allocates (or grows to) the size the measuring pass summed.
  void commit();
  size_t bytes() const { return capacity_; }

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> block_;
  size_t capacity_ = 0;
  size_t offset_ = 0;
  bool measure_ = true;
};

}  // namespace pfrt::cpu
