#include "plan/weight_ref.hpp"

namespace pfrt::plan {

using format::BlockTensor;
using format::GlobalTensor;

WeightRef WeightRef::of(GlobalTensor which) {
  WeightRef ref;
  ref.kind = Kind::kGlobal;
  ref.global = which;
  return ref;
}

WeightRef WeightRef::of(uint32_t block, BlockTensor which) {
  WeightRef ref;
  ref.kind = Kind::kBlock;
  ref.tensor = which;
  ref.block = block;
  return ref;
}

namespace {

const float* global_tensor(const core::ModelWeights& w, GlobalTensor which) {
  switch (which) {
    case GlobalTensor::kPatchWeight: return w.patch_weight;
    case GlobalTensor::kPatchBias: return w.patch_bias;
    case GlobalTensor::kClsToken: return w.cls_token;
    case GlobalTensor::kPosEmbedding: return w.pos_embedding;
    case GlobalTensor::kHeadNormWeight: return w.head_norm_weight;
    case GlobalTensor::kHeadNormBias: return w.head_norm_bias;
    case GlobalTensor::kHeadWeight: return w.head_weight;
    case GlobalTensor::kHeadBias: return w.head_bias;
    case GlobalTensor::kCount: break;
  }
  return nullptr;
}

const float* block_tensor(const core::BlockWeights& w, BlockTensor which) {
  switch (which) {
    case BlockTensor::kAttnNormWeight: return w.attn_norm_weight;
    case BlockTensor::kAttnNormBias: return w.attn_norm_bias;
    case BlockTensor::kQkvWeight: return w.qkv_weight;
    case BlockTensor::kOutWeight: return w.out_weight;
    case BlockTensor::kOutBias: return w.out_bias;
    case BlockTensor::kMlpNormWeight: return w.mlp_norm_weight;
    case BlockTensor::kMlpNormBias: return w.mlp_norm_bias;
    case BlockTensor::kFc1Weight: return w.fc1_weight;
    case BlockTensor::kFc1Bias: return w.fc1_bias;
    case BlockTensor::kFc2Weight: return w.fc2_weight;
    case BlockTensor::kFc2Bias: return w.fc2_bias;
    case BlockTensor::kCount: break;
  }
  return nullptr;
}

core::Int8Weight block_int8(const core::BlockWeights& w, BlockTensor which) {
  switch (which) {
    case BlockTensor::kQkvWeight: return w.qkv_q;
    case BlockTensor::kOutWeight: return w.out_q;
    case BlockTensor::kFc1Weight: return w.fc1_q;
    case BlockTensor::kFc2Weight: return w.fc2_q;
    default: return {};
  }
}

}  // namespace

core::Int8Weight resolve_int8(const core::ModelWeights& weights, const WeightRef& ref, uint32_t branch) {
  switch (ref.kind) {
    case WeightRef::Kind::kNone: return {};
    case WeightRef::Kind::kGlobal:
      return ref.global == GlobalTensor::kPatchWeight  ? weights.patch_q
             : ref.global == GlobalTensor::kHeadWeight ? weights.head_q
                                                       : core::Int8Weight{};
    case WeightRef::Kind::kBlock: return block_int8(weights.branches[branch][ref.block], ref.tensor);
  }
  return {};
}

const float* resolve(const core::ModelWeights& weights, const WeightRef& ref, uint32_t branch) {
  switch (ref.kind) {
    case WeightRef::Kind::kNone: return nullptr;
    case WeightRef::Kind::kGlobal: return global_tensor(weights, ref.global);
    case WeightRef::Kind::kBlock: return block_tensor(weights.branches[branch][ref.block], ref.tensor);
  }
  return nullptr;
}

}  // namespace pfrt::plan
