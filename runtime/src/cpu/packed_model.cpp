#include "cpu/packed_model.hpp"

#include "backend/shared_cache.hpp"

namespace pfrt::cpu {

PackedModel::PackedModel(const core::Model& model, const std::vector<plan::LinearLayer>& layers) {
  const core::ModelWeights& w = model.weights();
  const uint32_t branches = model.config().branches;
  const auto copies = [&](const plan::LinearLayer& l) {
    return l.weight.kind == plan::WeightRef::Kind::kBlock ? branches : 1u;
  };
  size_t count = 0;
  for (const plan::LinearLayer& l : layers) {
    bytes_ += copies(l) * PackedLinear::storage_bytes(l.in, l.out);
    count += copies(l);
  }
  storage_ = PageBlock(bytes_);
  layers_.reserve(count);
  char* next = reinterpret_cast<char*>(storage_.floats());
  for (const plan::LinearLayer& l : layers) {
    branch_base_.push_back(uint32_t(layers_.size()));
    per_branch_.push_back(copies(l) > 1);
    for (uint32_t b = 0; b < copies(l); ++b) {
      const float* weight = plan::resolve(w, l.weight, b) + size_t{l.first_row} * l.in;
      layers_.emplace_back(weight, l.in, l.out, plan::resolve(w, l.bias, b), reinterpret_cast<float*>(next));
      next += PackedLinear::storage_bytes(l.in, l.out);
    }
  }
}

std::shared_ptr<const PackedModel> shared_packed_model(const std::shared_ptr<const core::Model>& model,
                                                       const std::vector<plan::LinearLayer>& layers) {
  static core::SharedCache<const core::Model*, const PackedModel> cache;
  return cache.get(model.get(), [&] { return std::make_shared<const PackedModel>(*model, layers); });
}

}  // namespace pfrt::cpu
