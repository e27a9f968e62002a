#include "model/file_bytes.hpp"

#include <fcntl.h>
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

struct Free {
  void operator()(uint8_t* p) const { std::free(p); }
};

std::string errno_text() { return std::strerror(errno); }

// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
size_t read_fully(int fd, uint8_t* into, size_t size, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, into + done, size - done, offset + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(PFRT_IO_ERROR, path + ": read failed: " + errno_text());
    if (n == 0) break;
    done += size_t(n);
  }
  return done;
}

}  // namespace

uint8_t* FileBytes::allocate(size_t size) {
  const size_t rounded = (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

std::unique_ptr<FileBytes> FileBytes::read_file(const std::string& path) {
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
  std::unique_ptr<uint8_t, Free> bytes(allocate(size));
  const size_t got = read_fully(fd.get(), bytes.get(), size, 0, path);
  if (got < size) {
    fail(PFRT_IO_ERROR, path + ": the file shrank while it was read (" + std::to_string(size) + " bytes at open, " +
                            std::to_string(got) + " readable): is another program writing it?");
  }
  uint8_t extra = 0;
  if (read_fully(fd.get(), &extra, 1, off_t(size), path) != 0) {
    fail(PFRT_IO_ERROR, path + ": the file grew while it was read (" + std::to_string(size) +
                            " bytes at open): is another program writing it?");
  }
  return std::unique_ptr<FileBytes>(new FileBytes(bytes.release(), size));
}

std::unique_ptr<FileBytes> FileBytes::copy_of(const void* data, size_t size) {
  if (size > kMaxModelBytes) {
    fail(PFRT_INVALID_MODEL, "buffer of " + std::to_string(size) + " bytes is larger than any pfrt model (2 GiB)");
  }
  std::unique_ptr<uint8_t, Free> copy(allocate(size));
  if (size != 0) std::memcpy(copy.get(), data, size);
  return std::unique_ptr<FileBytes>(new FileBytes(copy.release(), size));
}

FileBytes::~FileBytes() { std::free(data_); }

}  // namespace pfrt::core
