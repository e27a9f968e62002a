// A model's weights in GPU memory: one allocation holding every f32 tensor (each 256-byte
// aligned), one for the GEMM weights of an f16 or int8 model in their own form; uploaded once per
// model per device and shared by all sessions of that model on that device. Pointers keep the host layout (ModelWeights), so kernels index them alike.
#pragma once

#include <cublasLt.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "cuda/cuda_resources.hpp"
#include "cuda/gemm_precision.hpp"
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
  size_t bytes() const { return (blob_.size() + gemm_blob_.size()) * sizeof(float); }

  // What the GEMM of an f16 or int8 model's layer on rows [first_row, ...) of a weight reads
  // (gemm_precision.hpp's packed weights, on the device).
  GemmOperand gemm_operand(const format::ModelConfig& config, const plan::WeightRef& ref, uint32_t branch,
                           uint32_t first_row) const;
  // int8 models: the device's cublasLt handle (linear_int8.hpp), made with the weights.
  cublasLtHandle_t lt() const { return lt_; }

 private:
  DeviceFloats blob_;
  core::ModelWeights weights_{};  // f16 and int8 models: null GEMM weights (gemm_weight has them)
  DeviceFloats gemm_blob_;
  std::vector<PackedGemmWeight> gemm_pieces_;
  cublasLtHandle_t lt_ = nullptr;
  const float* merge_weights_ = nullptr;
};

// The weights of `model` on `device` (the current device), uploaded by the first caller.
std::shared_ptr<const DeviceWeights> shared_device_weights(const std::shared_ptr<const core::Model>& model, int device);

}  // namespace pfrt::cuda
