// A model's GEMM weights packed for the cpu backend's kernel, once per model: every session of
// the model shares them read-only (N camera streams on one model hold one copy, not N). One
// PackedLinear per linear layer of the execution plan: global layers (stem, head) once,
// branch layers once per branch. An f16 model's layers are packed as f16 for the f16 GEMM where
// the CPU has f16 arithmetic (kernels::f16_gemm_kernel()); elsewhere every layer is f32 on
// widened weights.
#pragma once

#include <memory>
#include <vector>

#include "cpu/packed_linear.hpp"
#include "cpu/packed_linear_f16.hpp"
#include "cpu/packed_linear_int8.hpp"
#include "cpu/page_block.hpp"
#include "model/model.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cpu {

class PackedModel {
 public:
  PackedModel(const core::Model& model, const std::vector<plan::LinearLayer>& layers);

  // The packed layer `layer` of the plan's linear layers, for branch `branch` (ignored for the
  // stem and head).
  const PackedLinear& layer(uint32_t layer, uint32_t branch) const { return layers_[index(layer, branch)]; }
  // The same for the layers of an int8 model.
  const PackedLinearInt8& int8_layer(uint32_t layer, uint32_t branch) const {
    return int8_layers_[index(layer, branch)];
  }
  // The same for the layers that run with f16 arithmetic (f16(layer)).
  const PackedLinearF16& f16_layer(uint32_t layer, uint32_t branch) const { return f16_layers_[index(layer, branch)]; }
  // Whether plan layer `layer` runs with f16 arithmetic (f16_layer) rather than as f32 (layer).
  bool f16(uint32_t layer) const { return f16_[layer]; }
  // The f16 kernel the f16 layers run on, or null: none does.
  const kernels::F16GemmKernel* f16_kernel() const { return f16_kernel_; }
  size_t bytes() const { return bytes_; }

 private:
  size_t index(uint32_t layer, uint32_t branch) const {
    return size_t{branch_base_[layer]} + (per_branch_[layer] ? size_t{branch} : 0);
  }

  PageBlock storage_;                          // every layer's packed weights, one block
  std::vector<PackedLinear> layers_;           // f32 (and f16, widened) layers
  std::vector<PackedLinearInt8> int8_layers_;  // int8 layers
  std::vector<PackedLinearF16> f16_layers_;    // f16 layers with f16 arithmetic
  std::vector<bool> f16_;                      // per plan layer: in f16_layers_
  const kernels::F16GemmKernel* f16_kernel_ = nullptr;
  std::vector<uint32_t> branch_base_;  // per plan layer: its first entry in layers_
  std::vector<bool> per_branch_;
  size_t bytes_ = 0;
};

// The packed weights of `model` for the plan's layers (which depend on the model's config
// only), made by the first session that asks and shared with the later ones while any holds
// them.
std::shared_ptr<const PackedModel> shared_packed_model(const std::shared_ptr<const core::Model>& model,
                                                       const std::vector<plan::LinearLayer>& layers);

}  // namespace pfrt::cpu
