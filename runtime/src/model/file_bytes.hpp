// The bytes of a model: a read-only mapping of a file, or a 64-byte aligned copy of a buffer.
// Either way the first byte is at least 64-byte aligned, so tensor data stored at 64-byte
// offsets can be used in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace pfrt::core {

class FileBytes {
 public:
  static std::unique_ptr<FileBytes> map_file(const std::string& path);
  static std::unique_ptr<FileBytes> copy_of(const void* data, size_t size);
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  FileBytes(const uint8_t* data, size_t size, bool mapped) : data_(data), size_(size), mapped_(mapped) {}
  const uint8_t* data_;
  size_t size_;
  bool mapped_;
};

}  // namespace pfrt::core
