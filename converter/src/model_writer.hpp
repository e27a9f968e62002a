// Serialises a model into the pfrt FlatBuffers format and writes files atomically. It writes
// what it is given without judging it (convert.cpp checks first), so tests can also make
// deliberately broken files with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "format/model_spec.hpp"

namespace pfrt::convert {

struct WriterTensor {
  std::string name;
  int8_t dtype = 0;  // pfrt::fb::DType
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian bytes
  int shares_data_of = -1;    // >= 0: reuse that earlier tensor's data (only to test the reader)
};

struct WriterHeader {
  uint32_t format_version = format::kFormatVersion;
  uint32_t min_reader_version = format::kFormatVersion;
  std::string producer = "pfrt-convert";
  std::string producer_version;
  std::string source_sha256;
  std::string name;
  std::map<std::string, std::string> metadata;
  size_t data_alignment = 64;  // alignment of every tensor's data within the file
  bool size_prefixed = true;   // false only to test the reader's rejection
  std::string identifier = "PFRT";
};

std::vector<uint8_t> serialize_model(const format::ModelConfig& config, const std::vector<WriterTensor>& tensors,
                                     const WriterHeader& header);

// f32 tensor helper.
WriterTensor f32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values);

}  // namespace pfrt::convert
