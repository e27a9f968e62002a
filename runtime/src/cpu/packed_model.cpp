#include "cpu/packed_model.hpp"

#include "backend/shared_cache.hpp"

namespace pfrt::cpu {

PackedModel::PackedModel(const core::Model& model, const std::vector<plan::LinearLayer>& layers) {
  const core::ModelWeights& w = model.weights();
  const uint32_t branches = model.config().branches;
  for (const plan::LinearLayer& l : layers) {
    const bool per_branch = l.weight.kind == plan::WeightRef::Kind::kBlock;
    branch_base_.push_back(uint32_t(layers_.size()));
    per_branch_.push_back(per_branch);
    for (uint32_t b = 0; b < (per_branch ? branches : 1u); ++b) {
      const float* weight = plan::resolve(w, l.weight, b) + size_t{l.first_row} * l.in;
      layers_.emplace_back(weight, l.in, l.out, plan::resolve(w, l.bias, b));
      bytes_ += layers_.back().bytes();
    }
  }
}

std::shared_ptr<const PackedModel> shared_packed_model(const std::shared_ptr<const core::Model>& model,
                                                       const std::vector<plan::LinearLayer>& layers) {
  static core::SharedCache<const core::Model*, const PackedModel> cache;
  return cache.get(model.get(), [&] { return std::make_shared<const PackedModel>(*model, layers); });
}

}  // namespace pfrt::cpu
