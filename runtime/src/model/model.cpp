#include "model/model.hpp"

#include "error.hpp"
#include "model/model_reader.hpp"

namespace pfrt::core {

namespace {

using format::BlockTensor;
using format::GlobalTensor;

const float* find(const std::map<std::string, const float*>& tensors, const std::string& name) {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : it->second;  // read_model guarantees presence
}

ModelWeights bind_weights(const format::ModelConfig& c, const std::map<std::string, const float*>& t) {
  ModelWeights w{};
  auto global = [&](GlobalTensor g) { return find(t, format::tensor_name(g)); };
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
