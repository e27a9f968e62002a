#include "cpu/packed_model.hpp"

#include "backend/shared_cache.hpp"

namespace pfrt::cpu {

PackedModel::PackedModel(const core::Model& model, const std::vector<plan::LinearLayer>& layers) {
  const core::ModelWeights& w = model.weights();
  const uint32_t branches = model.config().branches;
  const auto copies = [&](const plan::LinearLayer& l) {
    return l.weight.kind == plan::WeightRef::Kind::kBlock ? branches : 1u;
  };
  const auto layer_bytes = [](const plan::LinearLayer& l) {
    return l.int8() ? PackedLinearInt8::storage_bytes(l.in, l.out) : PackedLinear::storage_bytes(l.in, l.out);
  };
  size_t count = 0;
  for (const plan::LinearLayer& l : layers) {
    bytes_ += copies(l) * layer_bytes(l);
    count += copies(l);
  }
  storage_ = PageBlock(bytes_);
  // One vector or the other is used for every layer (a model has one precision); index() counts
  // entries of both alike.
  layers_.reserve(count);
  int8_layers_.reserve(count);
  char* next = reinterpret_cast<char*>(storage_.floats());
  size_t entries = 0;
  for (const plan::LinearLayer& l : layers) {
    branch_base_.push_back(uint32_t(entries));
    per_branch_.push_back(copies(l) > 1);
    for (uint32_t b = 0; b < copies(l); ++b, ++entries) {
      const float* bias = plan::resolve(w, l.bias, b);
      if (l.int8()) {
        const core::Int8Weight q = plan::resolve_int8(w, l.weight, b);
        int8_layers_.emplace_back(q.values + size_t{l.first_row} * l.in, q.scales + l.first_row, l.in, l.out, bias,
                                  next);
        layers_.emplace_back();
      } else {
        const float* weight = plan::resolve(w, l.weight, b) + size_t{l.first_row} * l.in;
        layers_.emplace_back(weight, l.in, l.out, bias, reinterpret_cast<float*>(next));
        int8_layers_.emplace_back();
      }
      next += layer_bytes(l);
    }
  }
}

std::shared_ptr<const PackedModel> shared_packed_model(const std::shared_ptr<const core::Model>& model,
                                                       const std::vector<plan::LinearLayer>& layers) {
  static core::SharedCache<const core::Model*, const PackedModel> cache;
  return cache.get(model.get(), [&] { return std::make_shared<const PackedModel>(*model, layers); });
}

}  // namespace pfrt::cpu
