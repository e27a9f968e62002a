#include "model/model.hpp"

#include <cstring>

#include "error.hpp"
#include "model/model_reader.hpp"

namespace pfrt::core {

namespace {

using format::BlockTensor;
using format::GlobalTensor;

// IEEE binary16 to float, exactly (every f16 value is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | exponent << 23 | (mantissa & 0x3ffu) << 13;
    }
  } else {  // finite (the reader refused infinities and NaNs)
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// The f16 GEMM weights of `tensors` widened into `widened`, which then holds them all; their
// entries point there afterwards (as f32).
void widen_f16(std::map<std::string, StoredTensor>& tensors, const format::ModelConfig& c,
               std::vector<float>& widened) {
  size_t floats = 0;
  format::for_each_expected_tensor(c, [&](const format::TensorSpec& spec) {
    if (tensors.at(spec.name).dtype == format::Precision::kF16) floats += format::element_count(spec.shape);
    return true;
  });
  widened.resize(floats);
  size_t next = 0;
  format::for_each_expected_tensor(c, [&](const format::TensorSpec& spec) {
    StoredTensor& t = tensors.at(spec.name);
    if (t.dtype != format::Precision::kF16) return true;
    const size_t count = format::element_count(spec.shape);
    const auto* half = static_cast<const uint8_t*>(t.data);
    for (size_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, half + 2 * i, sizeof h);
      widened[next + i] = half_to_float(h);
    }
    t.dtype = format::Precision::kF32;
    t.data = widened.data() + next;
    next += count;
    return true;
  });
}

const float* find(const std::map<std::string, StoredTensor>& tensors, const std::string& name) {
  auto it = tensors.find(name);  // read_model guarantees presence
  if (it == tensors.end() || it->second.dtype != format::Precision::kF32) return nullptr;
  // Through void*: read_model checked the alignment, which -Wcast-align cannot see (armhf).
  return static_cast<const float*>(it->second.data);
}

Int8Weight find_int8(const std::map<std::string, StoredTensor>& tensors, const std::string& name) {
  auto it = tensors.find(name);
  if (it == tensors.end() || it->second.dtype != format::Precision::kInt8) return {};
  return Int8Weight{static_cast<const int8_t*>(it->second.data), it->second.scales};
}

ModelWeights bind_weights(const format::ModelConfig& c, const std::map<std::string, StoredTensor>& t) {
  ModelWeights w{};
  auto global = [&](GlobalTensor g) { return find(t, format::tensor_name(g)); };
  w.patch_q = find_int8(t, format::tensor_name(GlobalTensor::kPatchWeight));
  w.head_q = find_int8(t, format::tensor_name(GlobalTensor::kHeadWeight));
  w.patch_weight = global(GlobalTensor::kPatchWeight);
  w.patch_bias = global(GlobalTensor::kPatchBias);
  w.cls_token = global(GlobalTensor::kClsToken);
  w.pos_embedding = global(GlobalTensor::kPosEmbedding);
  w.head_norm_weight = global(GlobalTensor::kHeadNormWeight);
  w.head_norm_bias = global(GlobalTensor::kHeadNormBias);
  w.head_weight = global(GlobalTensor::kHeadWeight);
  w.head_bias = global(GlobalTensor::kHeadBias);
  w.branches.resize(c.branches);
  for (uint32_t b = 0; b < c.branches; ++b) {
    for (uint32_t j = 0; j < c.blocks_per_branch; ++j) {
      auto block = [&](BlockTensor which) { return find(t, format::tensor_name(b, j, which)); };
      BlockWeights bw{};
      bw.attn_norm_weight = block(BlockTensor::kAttnNormWeight);
      bw.attn_norm_bias = block(BlockTensor::kAttnNormBias);
      bw.qkv_weight = block(BlockTensor::kQkvWeight);
      bw.out_weight = c.project_out() ? block(BlockTensor::kOutWeight) : nullptr;
      bw.out_bias = c.project_out() ? block(BlockTensor::kOutBias) : nullptr;
      bw.mlp_norm_weight = block(BlockTensor::kMlpNormWeight);
      bw.mlp_norm_bias = block(BlockTensor::kMlpNormBias);
      bw.fc1_weight = block(BlockTensor::kFc1Weight);
      bw.fc1_bias = block(BlockTensor::kFc1Bias);
      bw.fc2_weight = block(BlockTensor::kFc2Weight);
      bw.fc2_bias = block(BlockTensor::kFc2Bias);
      auto block_q = [&](BlockTensor which) { return find_int8(t, format::tensor_name(b, j, which)); };
      bw.qkv_q = block_q(BlockTensor::kQkvWeight);
      bw.out_q = c.project_out() ? block_q(BlockTensor::kOutWeight) : Int8Weight{};
      bw.fc1_q = block_q(BlockTensor::kFc1Weight);
      bw.fc2_q = block_q(BlockTensor::kFc2Weight);
      w.branches[b].push_back(bw);
    }
  }
  return w;
}

}  // namespace

Model::Model(std::unique_ptr<FileBytes> bytes, std::string origin)
    : bytes_(std::move(bytes)), origin_(std::move(origin)) {
  ModelContents contents = read_model(bytes_->data(), bytes_->size(), origin_);
  config_ = std::move(contents.config);
  name_ = std::move(contents.name);
  metadata_ = std::move(contents.metadata);
  widen_f16(contents.tensors, config_, widened_);
  weights_ = bind_weights(config_, contents.tensors);
  for (const format::TensorSpec& spec : format::expected_tensors(config_)) {
    parameter_count_ += format::element_count(spec.shape);
  }
}

std::shared_ptr<const Model> Model::open(const std::string& path) {
  return std::shared_ptr<const Model>(new Model(FileBytes::read_file(path), path));
}

std::shared_ptr<const Model> Model::from_buffer(const void* data, size_t size) {
  return std::shared_ptr<const Model>(new Model(FileBytes::copy_of(data, size), "<buffer>"));
}

const std::string* Model::metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

}  // namespace pfrt::core
