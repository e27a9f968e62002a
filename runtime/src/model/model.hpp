// A verified, immutable model: its configuration and typed pointers into its tensors.
// Shared (std::shared_ptr<const Model>) by every session that runs it, from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/model_spec.hpp"
#include "model/file_bytes.hpp"

namespace pfrt::core {

// An int8 GEMM weight (format::Precision::kInt8): q [out, in] row-major in [-127, 127] and one
// scale per output channel (w ~ q * scale), straight from the file.
struct Int8Weight {
  const int8_t* values = nullptr;
  const float* scales = nullptr;
};

// Weights of one block; row-major [out, in] matrices as PyTorch's nn.Linear stores them. GEMM
// weights of an f16 model are widened to f32 once, when the model is opened; those of an int8
// model are null here and in the *_q fields instead.
struct BlockWeights {
  const float* attn_norm_weight;
  const float* attn_norm_bias;
  const float* qkv_weight;  // [3 * inner, D], no bias
  const float* out_weight;  // [D, inner]; null when the config has no output projection
  const float* out_bias;    // [D]; null likewise
  const float* mlp_norm_weight;
  const float* mlp_norm_bias;
  const float* fc1_weight;  // [M, D]
  const float* fc1_bias;
  const float* fc2_weight;  // [D, M]
  const float* fc2_bias;
  Int8Weight qkv_q, out_q, fc1_q, fc2_q;  // int8 models only
};

struct ModelWeights {
  const float* patch_weight;                        // [D, P*P*C]
  const float* patch_bias;                          // [D]
  const float* cls_token;                           // [D]
  const float* pos_embedding;                       // [T, D]
  std::vector<std::vector<BlockWeights>> branches;  // [branch][block]
  const float* head_norm_weight;
  const float* head_norm_bias;
  const float* head_weight;    // [K, D]
  const float* head_bias;      // [K]
  Int8Weight patch_q, head_q;  // int8 models only
};

class Model {
 public:
  static std::shared_ptr<const Model> open(const std::string& path);
  static std::shared_ptr<const Model> from_buffer(const void* data, size_t size);

  const format::ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  // The path it was opened from, or "<buffer>": the prefix of every message about it.
  const std::string& origin() const { return origin_; }
  const std::string& name() const { return name_; }
  // producer, producer_version, source_sha256 and the file's free-form metadata.
  const std::string* metadata(const std::string& key) const;
  uint64_t file_size() const { return bytes_->size(); }
  const FileBytes& bytes() const { return *bytes_; }  // the file's bytes (e.g. to compare files)
  uint64_t parameter_count() const { return parameter_count_; }
  // Bytes of f32 weights made when an f16 model was opened (0 for f32 and int8 models).
  uint64_t widened_bytes() const { return widened_.size() * sizeof(float); }

 private:
  Model(std::unique_ptr<FileBytes> bytes, std::string origin);

  std::unique_ptr<FileBytes> bytes_;
  std::string origin_;
  std::string name_;
  format::ModelConfig config_;
  ModelWeights weights_{};
  std::map<std::string, std::string> metadata_;
  uint64_t parameter_count_ = 0;
  std::vector<float> widened_;  // an f16 model's GEMM weights as f32
};

}  // namespace pfrt::core
