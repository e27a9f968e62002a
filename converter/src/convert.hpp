// pfrt-convert's job as a library: config.json + model.safetensors -> model.pfrt, checking
// every tensor against what the configuration implies before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/model_spec.hpp"

namespace pfrt::convert {

struct ConvertOptions {
  std::string config_path;
  std::string weights_path;
  std::string output_path;
  std::string name;                                       // overrides config.json's name when set
  format::Precision precision = format::Precision::kF32;  // of the GEMM weights (README, "int8 and f16 models")
};

struct ConvertSummary {
  format::ModelConfig config;
  std::string name;
  size_t tensors = 0;
  uint64_t parameters = 0;
  uint64_t output_bytes = 0;
  std::string source_sha256;
  std::vector<std::string> converted_dtypes;  // e.g. "mlp_head.1.weight: F16 -> f32"
};

// Builds the model bytes in memory (every check included); throws ConvertError.
std::vector<uint8_t> build_model(const ConvertOptions& options, ConvertSummary* summary);

// build_model, then writes the output atomically: on any error nothing is left at output_path
// (an existing file there stays as it was).
ConvertSummary convert(const ConvertOptions& options);

}  // namespace pfrt::convert
