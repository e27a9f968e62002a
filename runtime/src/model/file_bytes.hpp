// The bytes of a model: a private, 64-byte aligned copy of a file or of a buffer. Tensor data
// stored at 64-byte offsets can be used in place. The file is read, not mapped: a model file
// that is truncated, rewritten or replaced while sessions run cannot fault the process
// (a truncated mapping raises SIGBUS on the next access), and a file that changes size while
// it is read is reported as such.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace pfrt::core {

class FileBytes {
 public:
  static std::unique_ptr<FileBytes> read_file(const std::string& path);
  static std::unique_ptr<FileBytes> copy_of(const void* data, size_t size);
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  FileBytes(uint8_t* data, size_t size) : data_(data), size_(size) {}
  static uint8_t* allocate(size_t size);
  uint8_t* data_;
  size_t size_;
};

}  // namespace pfrt::core
