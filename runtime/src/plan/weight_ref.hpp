// A weight tensor named by what it is rather than where it lives, so that one plan serves
// every copy of the weights: the model's own (host), a backend's device copy with the same
// layout (core::ModelWeights with device pointers), or packed forms keyed by the plan's layers.
#pragma once

#include <cstdint>

#include "format/model_spec.hpp"
#include "model/model.hpp"

namespace pfrt::plan {

struct WeightRef {
  enum class Kind : uint8_t { kNone, kGlobal, kBlock };
  Kind kind = Kind::kNone;
  format::GlobalTensor global = format::GlobalTensor::kPatchWeight;
  format::BlockTensor tensor = format::BlockTensor::kAttnNormWeight;
  uint32_t block = 0;  // kBlock: the block of the branch that runs

  static WeightRef of(format::GlobalTensor which);
  static WeightRef of(uint32_t block, format::BlockTensor which);
  explicit operator bool() const { return kind != Kind::kNone; }
};

// The tensor's first float in `weights`, for branch `branch` (ignored for global tensors);
// null for kNone and for an absent output projection.
const float* resolve(const core::ModelWeights& weights, const WeightRef& ref, uint32_t branch);
// The int8 form of a GEMM weight (int8 models); empty for other tensors and precisions.
core::Int8Weight resolve_int8(const core::ModelWeights& weights, const WeightRef& ref, uint32_t branch);

}  // namespace pfrt::plan
