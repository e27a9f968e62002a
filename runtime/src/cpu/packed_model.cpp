#include "cpu/packed_model.hpp"

#include <stdexcept>

#include "backend/shared_cache.hpp"
#include "cpu/kernels/kernels.hpp"
#include "error.hpp"

namespace pfrt::cpu {

PackedModel::PackedModel(const core::Model& model, const std::vector<plan::LinearLayer>& layers) {
  const core::ModelWeights& w = model.weights();
  const uint32_t branches = model.config().branches;
  const auto copies = [&](const plan::LinearLayer& l) {
    return l.weight.kind == plan::WeightRef::Kind::kBlock ? branches : 1u;
  };
  // f16 arithmetic where the CPU has it, for every layer.
  const bool f16_model = model.config().quantization.precision == format::Precision::kF16;
  const kernels::F16GemmKernel* f16_kernel = nullptr;
  try {
    if (f16_model) f16_kernel = kernels::f16_gemm_kernel();
  } catch (const std::invalid_argument& e) {  // PFRT_F16_KERNEL names no kernel this CPU runs
    core::fail(PFRT_INVALID_ARGUMENT, e.what());
  }
  const auto f16 = [&](const plan::LinearLayer& l) {
    return f16_kernel != nullptr && l.quantization.precision == format::Precision::kF16;
  };
  const auto layer_bytes = [&](const plan::LinearLayer& l) {
    if (l.int8()) return PackedLinearInt8::storage_bytes(l.in, l.out);
    return f16(l) ? PackedLinearF16::storage_bytes(l.in, l.out) : PackedLinear::storage_bytes(l.in, l.out);
  };
  size_t count = 0;
  for (const plan::LinearLayer& l : layers) {
    f16_.push_back(f16(l));
    if (f16(l)) f16_kernel_ = f16_kernel;
    bytes_ += copies(l) * layer_bytes(l);
    count += copies(l);
  }
  storage_ = PageBlock(bytes_);
  // One vector of the three is used for each layer; index() counts entries of all alike.
  layers_.reserve(count);
  int8_layers_.reserve(count);
  f16_layers_.reserve(count);
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
        f16_layers_.emplace_back();
      } else if (f16(l)) {  // the model holds the f16 weights widened, exactly: packed back to f16
        const float* weight = plan::resolve(w, l.weight, b) + size_t{l.first_row} * l.in;
        f16_layers_.emplace_back(weight, l.in, l.out, bias, next);
        layers_.emplace_back();
        int8_layers_.emplace_back();
      } else {
        const float* weight = plan::resolve(w, l.weight, b) + size_t{l.first_row} * l.in;
        layers_.emplace_back(weight, l.in, l.out, bias, reinterpret_cast<float*>(next));
        int8_layers_.emplace_back();
        f16_layers_.emplace_back();
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
