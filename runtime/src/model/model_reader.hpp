// Reads and checks a pfrt model file: identifier, size, FlatBuffers verification, versions,
// configuration, and every tensor against the list the configuration implies. Each failure is
// an Error whose message names the file and what is wrong with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "format/model_spec.hpp"

namespace pfrt::core {

// One tensor's checked data in the file: f32, or (GEMM weights) f16 or int8 with per-row scales.
struct StoredTensor {
  format::Precision dtype = format::Precision::kF32;
  const void* data = nullptr;     // 64-byte aligned
  const float* scales = nullptr;  // kInt8: one per row (output channel), finite and > 0
};

struct ModelContents {
  format::ModelConfig config;
  std::string name;
  std::map<std::string, std::string> metadata;
  std::map<std::string, StoredTensor> tensors;  // every expected tensor, checked
};

// `data` must stay valid while the returned pointers are used; it is at least 64-byte aligned.
ModelContents read_model(const uint8_t* data, size_t size, const std::string& origin);

}  // namespace pfrt::core
