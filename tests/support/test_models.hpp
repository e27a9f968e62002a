// Helpers that make models for tests: configs of several shapes, random weights for them, and
// files in a temporary folder that is removed afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/model_spec.hpp"
#include "model_writer.hpp"

namespace pfrt::test {

// A small valid config (28x28x1, patch 7, D=16, 2 heads x 8, MLP 32, 2 branches, 1 block).
format::ModelConfig tiny_config();

// A DeiT-Tiny-shaped config (224x224x3, patch 16, D=192, 3 heads x 64, MLP 768, 1000 classes).
format::ModelConfig deit_tiny_config(uint32_t branches, uint32_t blocks_per_branch);

// Every tensor the config needs, filled with deterministic pseudo-random values.
std::vector<convert::WriterTensor> random_tensors(const format::ModelConfig& config, uint32_t seed);

// A complete, valid model file's bytes.
std::vector<uint8_t> model_bytes(const format::ModelConfig& config, uint32_t seed = 1);

// Deterministic pseudo-random floats in [-1, 1).
std::vector<float> random_floats(size_t count, uint32_t seed);

// A temporary folder, deleted with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const;
  std::string write_text(const std::string& name, const std::string& text) const;
  std::vector<std::string> list() const;

 private:
  std::string path_;
};

std::vector<uint8_t> read_file(const std::string& path);

}  // namespace pfrt::test

namespace pfrt::test {

// A safetensors file from raw tensors (dtype names as in the format: "F32", "F16", ...).
struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> safetensors_bytes(const std::vector<RawTensor>& tensors);
// The safetensors file of a config's random f32 tensors (same values as random_tensors).
std::vector<RawTensor> raw_tensors(const format::ModelConfig& config, uint32_t seed);
// config.json text for a config, as reference/export.py writes it.
std::string config_json_text(const format::ModelConfig& config, const std::string& name = "test-model");

}  // namespace pfrt::test
