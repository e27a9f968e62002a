#include "model/file_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "error.hpp"

namespace pfrt::core {

namespace {

// FlatBuffers offsets are 32-bit: no valid file is larger.
constexpr uint64_t kMaxModelBytes = (uint64_t{1} << 31) - 2;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::unique_ptr<FileBytes> FileBytes::map_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(PFRT_IO_ERROR, path + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(PFRT_IO_ERROR, path + ": cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) fail(PFRT_IO_ERROR, path + ": not a regular file");
  if (st.st_size == 0) fail(PFRT_INVALID_MODEL, path + ": empty file (0 bytes), not a pfrt model");
  if (uint64_t(st.st_size) > kMaxModelBytes) {
    fail(PFRT_INVALID_MODEL, path + ": " + std::to_string(st.st_size) + " bytes is larger than any pfrt model (2 GiB)");
  }
  const size_t size = size_t(st.st_size);
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (base == MAP_FAILED) fail(PFRT_IO_ERROR, path + ": cannot map " + std::to_string(size) + " bytes: " + errno_text());
  return std::unique_ptr<FileBytes>(new FileBytes(static_cast<const uint8_t*>(base), size, true));
}

std::unique_ptr<FileBytes> FileBytes::copy_of(const void* data, size_t size) {
  if (size > kMaxModelBytes) {
    fail(PFRT_INVALID_MODEL, "buffer of " + std::to_string(size) + " bytes is larger than any pfrt model (2 GiB)");
  }
  const size_t rounded = (size + 63) / 64 * 64;
  void* copy = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (copy == nullptr) throw std::bad_alloc();
  if (size != 0) std::memcpy(copy, data, size);
  return std::unique_ptr<FileBytes>(new FileBytes(static_cast<const uint8_t*>(copy), size, false));
}

FileBytes::~FileBytes() {
  if (mapped_) {
    ::munmap(const_cast<uint8_t*>(data_), size_);
  } else {
    std::free(const_cast<uint8_t*>(data_));
  }
}

}  // namespace pfrt::core
