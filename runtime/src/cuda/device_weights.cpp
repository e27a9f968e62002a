#include "cuda/device_weights.hpp"

#include <utility>

#include "backend/shared_cache.hpp"
#include "cuda/linear_int8.hpp"
#include "format/model_spec.hpp"

namespace pfrt::cuda {

namespace {

using format::BlockTensor;
using format::GlobalTensor;

// Calls f(pointer, floats) for every f32 tensor pointer of w, in layout order. Pointers of
// absent tensors (no output projection) are skipped, and so are the GEMM weights of f16 and int8
// models (DeviceGemmWeights holds those), after skip(pointer) was called on them.
template <class Weights, class F, class Skip>
void for_each_tensor(const core::Model& model, Weights& w, F&& f, Skip&& skip) {
  const format::ModelConfig& c = model.config();
  const bool reduced = c.quantization.precision != format::Precision::kF32;
  auto g = [&](auto& ptr, GlobalTensor t) {
    if (reduced && format::is_gemm_weight(t)) return skip(ptr);
    f(ptr, size_t(format::element_count(format::tensor_shape(c, t))));
  };
  auto b = [&](auto& ptr, BlockTensor t) {
    if (reduced && format::is_gemm_weight(t)) return skip(ptr);
    if (ptr != nullptr) f(ptr, size_t(format::element_count(format::tensor_shape(c, t))));
  };
  g(w.patch_weight, GlobalTensor::kPatchWeight);
  g(w.patch_bias, GlobalTensor::kPatchBias);
  g(w.cls_token, GlobalTensor::kClsToken);
  g(w.pos_embedding, GlobalTensor::kPosEmbedding);
  for (auto& branch : w.branches) {
    for (auto& block : branch) {
      b(block.attn_norm_weight, BlockTensor::kAttnNormWeight);
      b(block.attn_norm_bias, BlockTensor::kAttnNormBias);
      b(block.qkv_weight, BlockTensor::kQkvWeight);
      b(block.out_weight, BlockTensor::kOutWeight);
      b(block.out_bias, BlockTensor::kOutBias);
      b(block.mlp_norm_weight, BlockTensor::kMlpNormWeight);
      b(block.mlp_norm_bias, BlockTensor::kMlpNormBias);
      b(block.fc1_weight, BlockTensor::kFc1Weight);
      b(block.fc1_bias, BlockTensor::kFc1Bias);
      b(block.fc2_weight, BlockTensor::kFc2Weight);
      b(block.fc2_bias, BlockTensor::kFc2Bias);
    }
  }
  g(w.head_norm_weight, GlobalTensor::kHeadNormWeight);
  g(w.head_norm_bias, GlobalTensor::kHeadNormBias);
  g(w.head_weight, GlobalTensor::kHeadWeight);
  g(w.head_bias, GlobalTensor::kHeadBias);
}

size_t align_up(size_t n) { return (n + kWeightAlignFloats - 1) / kWeightAlignFloats * kWeightAlignFloats; }

}  // namespace

WeightLayout layout_weights(const core::Model& model) {
  WeightLayout layout;
  const core::ModelWeights& w = model.weights();
  for_each_tensor(
      model, w,
      [&](const float* ptr, size_t floats) {
        layout.pieces.push_back({ptr, floats, layout.total_floats});
        layout.total_floats = align_up(layout.total_floats + floats);
      },
      [](const float*) {});
  const std::vector<float>& merge = model.config().merge_weights;
  if (!merge.empty()) {
    layout.pieces.push_back({merge.data(), merge.size(), layout.total_floats});
    layout.total_floats = align_up(layout.total_floats + merge.size());
  }
  return layout;
}

core::ModelWeights rebase_weights(const core::Model& model, const WeightLayout& layout, float* base) {
  core::ModelWeights w = model.weights();
  size_t i = 0;
  for_each_tensor(
      model, w, [&](const float*& ptr, size_t) { ptr = base + layout.pieces[i++].offset; },
      [](const float*& ptr) { ptr = nullptr; });
  return w;
}

DeviceWeights::DeviceWeights(const core::Model& model) {
  const WeightLayout layout = layout_weights(model);
  blob_ = DeviceFloats(layout.total_floats, "cudaMalloc(model weights)");
  for (const WeightLayout::Piece& p : layout.pieces) {
    check(cudaMemcpy(blob_.get() + p.offset, p.host, p.floats * sizeof(float), cudaMemcpyHostToDevice),
          "cudaMemcpy(model weights)");
  }
  weights_ = rebase_weights(model, layout, blob_.get());
  if (!model.config().merge_weights.empty()) merge_weights_ = blob_.get() + layout.pieces.back().offset;

  const PackedGemmWeights packed = pack_gemm_weights(model);
  gemm_pieces_ = packed.pieces;
  gemm_blob_ = DeviceFloats(packed.blob.size() / sizeof(float), "cudaMalloc(f16/int8 GEMM weights)");
  if (!packed.blob.empty()) {
    check(cudaMemcpy(gemm_blob_.get(), packed.blob.data(), packed.blob.size(), cudaMemcpyHostToDevice),
          "cudaMemcpy(f16/int8 GEMM weights)");
  }
  if (packed.precision == format::Precision::kInt8) lt_ = lt_handle();
}

GemmOperand DeviceWeights::gemm_operand(const format::ModelConfig& config, const plan::WeightRef& ref, uint32_t branch,
                                        uint32_t first_row) const {
  return cuda::gemm_operand(reinterpret_cast<const uint8_t*>(gemm_blob_.get()),
                            gemm_pieces_.at(gemm_weight_index(config, ref, branch)), first_row);
}

std::shared_ptr<const DeviceWeights> shared_device_weights(const std::shared_ptr<const core::Model>& model,
                                                           int device) {
  // Keyed by the model's address: a session holds both its model and these weights, so while
  // an entry is alive its model is too and the address cannot be reused by another model.
  static core::SharedCache<std::pair<const core::Model*, int>, const DeviceWeights> cache;
  return cache.get({model.get(), device}, [&] { return std::make_shared<const DeviceWeights>(*model); });
}

}  // namespace pfrt::cuda
