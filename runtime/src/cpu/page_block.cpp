#include "cpu/page_block.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it and pages fault in as used
#endif

namespace pfrt::cpu {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;

// Under AddressSanitizer blocks come from malloc, whose red zones catch a kernel that writes
// past the end of an arena (a mapping has no red zone).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kFromMalloc = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kFromMalloc = true;
#else
constexpr bool kFromMalloc = false;
#endif
#else
constexpr bool kFromMalloc = false;
#endif
}  // namespace

PageBlock::PageBlock(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  if (kFromMalloc) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    data_ = p;
    return;
  }
  // Blocks of a huge page or more start on a huge-page boundary, so that they can be backed by
  // huge pages: map one more, then give back the unaligned head and the tail.
  const bool huge = bytes >= kHugePage;
  const size_t length = huge ? bytes + kHugePage : bytes;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  mapping_ = p;
  mapped_ = length;
  data_ = p;
  if (huge) {
    const uintptr_t start = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    const size_t head = aligned - start, used = (bytes + 4095) / 4096 * 4096;
    if (head > 0) ::munmap(p, head);
    if (mapped_ - head > used) ::munmap(reinterpret_cast<void*>(aligned + used), mapped_ - head - used);
    mapping_ = data_ = reinterpret_cast<void*>(aligned);
    mapped_ = used;
    ::madvise(data_, mapped_, MADV_HUGEPAGE);  // a hint: refused where huge pages are off
  }
  ::madvise(data_, mapped_, MADV_POPULATE_WRITE);  // a hint likewise
}

PageBlock::PageBlock(PageBlock&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

PageBlock& PageBlock::operator=(PageBlock&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

PageBlock::~PageBlock() { release(); }

void PageBlock::release() {
  if (kFromMalloc) std::free(data_);
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_);
  mapping_ = data_ = nullptr;
  mapped_ = bytes_ = 0;
}

}  // namespace pfrt::cpu
