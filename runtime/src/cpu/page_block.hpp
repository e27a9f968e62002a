// Zeroed memory for large, long-lived buffers (packed weights, activation arenas), mapped with
// its pages faulted in at once and, where the kernel allows it (transparent huge pages in
// "madvise" mode), backed by 2 MiB pages. Faulting pages in one at a time as they are first
// written made session creation mostly page faults: 8 MiB of DeiT-Tiny weights took 2,000
// faults, 20-30 ms on a virtual machine.
#pragma once

#include <cstddef>

namespace pfrt::cpu {

class PageBlock {
 public:
  PageBlock() = default;
  explicit PageBlock(size_t bytes);  // throws std::bad_alloc
  PageBlock(PageBlock&& other) noexcept;
  PageBlock& operator=(PageBlock&& other) noexcept;
  PageBlock(const PageBlock&) = delete;
  PageBlock& operator=(const PageBlock&) = delete;
  ~PageBlock();

  float* floats() const { return static_cast<float*>(data_); }
  size_t bytes() const { return bytes_; }

 private:
  void release();
  void* data_ = nullptr;     // 64-byte aligned (page aligned)
  size_t bytes_ = 0;         // asked for
  void* mapping_ = nullptr;  // what munmap releases
  size_t mapped_ = 0;
};

}  // namespace pfrt::cpu
