// A model's weights in GPU memory: one allocation holding every tensor (each 256-byte
// aligned), uploaded once per model per device and shared by all sessions of that model on
// that device. Pointers keep the host layout (ModelWeights), so kernels index them alike.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "cuda/cuda_resources.hpp"
#include "model/model.hpp"

namespace pfrt::cuda {

// Where each tensor goes in the device allocation. Pure: tested without a GPU.
struct WeightLayout {
  struct Piece {
    const float* host;
    size_t floats;
    size_t offset;  // in floats from the start of the allocation
  };
  std::vector<Piece> pieces;  // stem, branches' blocks in order, head, then the merge weights
  size_t total_floats = 0;
};
inline constexpr size_t kWeightAlignFloats = 64;  // 256 bytes: what cuBLAS and coalescing like

WeightLayout layout_weights(const core::Model& model);
// The model's weights with every pointer moved to `base` + its piece's offset.
core::ModelWeights rebase_weights(const core::Model& model, const WeightLayout& layout, float* base);

class DeviceWeights {
 public:
  // Uploads the model to the current device (synchronous: the host copy may go after it).
  explicit DeviceWeights(const core::Model& model);
  const core::ModelWeights& get() const { return weights_; }
  // Per-branch merge weights on the device, or null for a plain sum.
  const float* merge_weights() const { return merge_weights_; }
  size_t bytes() const { return blob_.size() * sizeof(float); }

 private:
  DeviceFloats blob_;
  core::ModelWeights weights_{};
  const float* merge_weights_ = nullptr;
};

// The weights of `model` on `device` (the current device), uploaded by the first caller.
std::shared_ptr<const DeviceWeights> shared_device_weights(const std::shared_ptr<const core::Model>& model, int device);

}  // namespace pfrt::cuda
