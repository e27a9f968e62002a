// Reader of the safetensors format: 8-byte little-endian header length, a JSON header mapping
// tensor names to {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
// Every offset, size and shape is checked before any tensor byte is read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pfrt::convert {

enum class SafetensorsDType { kF32, kF16, kBF16, kF64 };

struct SafetensorsTensor {
  SafetensorsDType dtype;
  std::string dtype_name;  // as written in the header, e.g. "F16"
  std::vector<int64_t> shape;
  size_t offset = 0;  // into the data section
  size_t bytes = 0;
};

class SafetensorsFile {
 public:
  // Reads and validates a file; `origin` prefixes error messages.
  static SafetensorsFile read(const std::string& path);
  static SafetensorsFile parse(std::vector<uint8_t> bytes, const std::string& origin);

  const std::map<std::string, SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // The tensor's values converted to float32 (F16, BF16 and F64 are converted exactly or
  // rounded to nearest; F64 values outside the float range are an error).
  std::vector<float> to_f32(const std::string& name) const;

 private:
  std::vector<uint8_t> bytes_;
  size_t data_start_ = 0;
  std::string origin_;
  std::map<std::string, SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace pfrt::convert
