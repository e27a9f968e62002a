#include "format/model_spec.hpp"

#include <cmath>
#include <functional>
#include <sstream>

namespace pfrt::format {

const char* to_string(Pooling p) { return p == Pooling::kMean ? "mean" : "cls"; }
const char* to_string(Residual r) { return r == Residual::kPreNorm ? "prenorm" : "normalized"; }
const char* to_string(Gelu g) { return g == Gelu::kTanh ? "tanh" : "erf"; }
const char* to_string(TrainingMode t) {
  switch (t) {
    case TrainingMode::kProgressive: return "progressive";
    case TrainingMode::kPlain: return "plain";
    default: return "unknown";
  }
}

const char* to_string(Precision p) {
  switch (p) {
    case Precision::kF16: return "f16";
    case Precision::kInt8: return "int8";
    default: return "f32";
  }
}
const char* to_string(WeightQuantization w) {
  return w == WeightQuantization::kSymmetricPerOutputChannel ? "symmetric per output channel" : "none";
}
const char* to_string(ActivationQuantization a) {
  return a == ActivationQuantization::kDynamicPerRow ? "dynamic per row" : "none";
}

Quantization Quantization::of(Precision precision) {
  Quantization q;
  q.precision = precision;
  if (precision == Precision::kInt8) {
    q.weights = WeightQuantization::kSymmetricPerOutputChannel;
    q.activations = ActivationQuantization::kDynamicPerRow;
  }
  return q;
}

std::string Quantization::describe() const {
  std::string s = to_string(precision);
  if (weights != WeightQuantization::kNone || activations != ActivationQuantization::kNone) {
    s += std::string(" (weights ") + to_string(weights) + ", activations " + to_string(activations) + ")";
  }
  return s;
}

uint32_t min_reader_version(const ModelConfig& config) {
  return config.quantization.precision == Precision::kF32 ? 1 : 2;
}

namespace {

std::string field_error(const char* field, uint64_t value, const char* rule) {
  std::ostringstream out;
  out << "config field '" << field << "' is " << value << ": " << rule;
  return out.str();
}

std::string check_range(const char* field, uint64_t value, uint64_t max) {
  if (value == 0) return field_error(field, value, "must be at least 1");
  if (value > max) return field_error(field, value, ("must be at most " + std::to_string(max)).c_str());
  return {};
}

std::string check_per_channel(const char* field, const std::vector<float>& values, uint32_t channels, bool positive) {
  if (values.size() != channels) {
    return "config field '" + std::string(field) + "' has " + std::to_string(values.size()) +
           " value(s); the model has " + std::to_string(channels) + " channel(s)";
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || (positive && !(values[i] > 0.0f))) {
      std::ostringstream out;
      out << "config field '" << field << "'[" << i << "] is " << values[i] << ": must be "
          << (positive ? "finite and positive" : "finite");
      return out.str();
    }
  }
  return {};
}

}  // namespace

std::string validate(const ModelConfig& c) {
  struct Bound {
    const char* field;
    uint64_t value;
    uint64_t max;
  };
  const Bound bounds[] = {
      {"image_size", c.image_size, Limits::kMaxImageSize},
      {"channels", c.channels, Limits::kMaxChannels},
      {"patch_size", c.patch_size, Limits::kMaxImageSize},
      {"embed_dim", c.embed_dim, Limits::kMaxWidth},
      {"heads", c.heads, Limits::kMaxHeads},
      {"head_dim", c.head_dim, Limits::kMaxWidth},
      {"mlp_dim", c.mlp_dim, Limits::kMaxWidth},
      {"branches", c.branches, Limits::kMaxBranches},
      {"blocks_per_branch", c.blocks_per_branch, Limits::kMaxBlocksPerBranch},
      {"classes", c.classes, Limits::kMaxClasses},
  };
  for (const Bound& b : bounds) {
    if (std::string e = check_range(b.field, b.value, b.max); !e.empty()) return e;
  }
  if (c.image_size % c.patch_size != 0) {
    return "config field 'image_size' (" + std::to_string(c.image_size) + ") is not a multiple of 'patch_size' (" +
           std::to_string(c.patch_size) + ")";
  }
  const uint64_t grid = c.image_size / c.patch_size;
  if (grid * grid + 1 > Limits::kMaxTokens) {
    return "image_size " + std::to_string(c.image_size) + " / patch_size " + std::to_string(c.patch_size) + " gives " +
           std::to_string(grid * grid) + " patches; at most " + std::to_string(Limits::kMaxTokens - 1) +
           " are supported";
  }
  const uint64_t inner = uint64_t{c.heads} * c.head_dim;
  if (inner > Limits::kMaxWidth) return field_error("heads x head_dim", inner, "must be at most 16384");
  const uint64_t patch_dim = uint64_t{c.patch_size} * c.patch_size * c.channels;
  if (patch_dim > (1u << 20)) return field_error("patch_size^2 x channels", patch_dim, "must be at most 1048576");
  if (!std::isfinite(c.layernorm_eps) || !(c.layernorm_eps > 0.0f)) {
    std::ostringstream out;
    out << "config field 'layernorm_eps' is " << c.layernorm_eps << ": must be finite and positive";
    return out.str();
  }
  if (!c.merge_weights.empty()) {
    if (c.merge_weights.size() != c.branches) {
      return "config field 'merge_weights' has " + std::to_string(c.merge_weights.size()) + " value(s) for " +
             std::to_string(c.branches) + " branch(es)";
    }
    for (size_t i = 0; i < c.merge_weights.size(); ++i) {
      if (!std::isfinite(c.merge_weights[i])) {
        return "config field 'merge_weights'[" + std::to_string(i) + "] is not finite";
      }
    }
  }
  const Quantization& q = c.quantization;
  if (q.weights != Quantization::of(q.precision).weights ||
      q.activations != Quantization::of(q.precision).activations) {
    return std::string("config fields 'precision', 'weight_quantization' and 'activation_quantization' are ") +
           to_string(q.precision) + ", " + to_string(q.weights) + ", " + to_string(q.activations) +
           ": supported are f32 or f16 unquantised, and int8 with weights symmetric per output channel and "
           "activations dynamic per row";
  }
  if (q.precision == Precision::kInt8 && patch_dim > Limits::kMaxInt8Depth) {
    return field_error("patch_size^2 x channels", patch_dim,
                       "must be at most 65536 in an int8 model (int32 accumulation of the stem)");
  }
  if (std::string e = check_per_channel("mean", c.mean, c.channels, false); !e.empty()) return e;
  if (std::string e = check_per_channel("std", c.std, c.channels, true); !e.empty()) return e;
  if (!c.labels.empty()) {
    if (c.labels.size() != c.classes) {
      return "config field 'labels' has " + std::to_string(c.labels.size()) + " entries for " +
             std::to_string(c.classes) + " classes";
    }
    for (size_t i = 0; i < c.labels.size(); ++i) {
      if (c.labels[i].size() > Limits::kMaxLabelBytes) {
        return "label " + std::to_string(i) + " is longer than " + std::to_string(Limits::kMaxLabelBytes) + " bytes";
      }
    }
  }
  return {};
}

std::string tensor_name(GlobalTensor which) {
  switch (which) {
    case GlobalTensor::kPatchWeight: return "to_patch_embedding.1.weight";
    case GlobalTensor::kPatchBias: return "to_patch_embedding.1.bias";
    case GlobalTensor::kClsToken: return "cls_token";
    case GlobalTensor::kPosEmbedding: return "pos_embedding";
    case GlobalTensor::kHeadNormWeight: return "mlp_head.0.weight";
    case GlobalTensor::kHeadNormBias: return "mlp_head.0.bias";
    case GlobalTensor::kHeadWeight: return "mlp_head.1.weight";
    case GlobalTensor::kHeadBias: return "mlp_head.1.bias";
    case GlobalTensor::kCount: break;
  }
  return {};
}

std::string tensor_name(uint32_t branch, uint32_t block, BlockTensor which) {
  // Block j of a branch is layers 2j (attention) and 2j+1 (MLP) of the authors' nn.Sequential.
  const bool attention_layer = which <= BlockTensor::kOutBias;
  const std::string prefix = "paraformerbranches.branches." + std::to_string(branch) + "." +
                             std::to_string(2 * block + (attention_layer ? 0 : 1)) + ".";
  switch (which) {
    case BlockTensor::kAttnNormWeight:
    case BlockTensor::kMlpNormWeight: return prefix + "norm.weight";
    case BlockTensor::kAttnNormBias:
    case BlockTensor::kMlpNormBias: return prefix + "norm.bias";
    case BlockTensor::kQkvWeight: return prefix + "fn.to_qkv.weight";
    case BlockTensor::kOutWeight: return prefix + "fn.to_out.0.weight";
    case BlockTensor::kOutBias: return prefix + "fn.to_out.0.bias";
    case BlockTensor::kFc1Weight: return prefix + "fn.net.0.weight";
    case BlockTensor::kFc1Bias: return prefix + "fn.net.0.bias";
    case BlockTensor::kFc2Weight: return prefix + "fn.net.3.weight";
    case BlockTensor::kFc2Bias: return prefix + "fn.net.3.bias";
    case BlockTensor::kCount: break;
  }
  return {};
}

std::vector<int64_t> tensor_shape(const ModelConfig& c, GlobalTensor which) {
  const int64_t d = c.embed_dim;
  switch (which) {
    case GlobalTensor::kPatchWeight: return {d, c.patch_dim()};
    case GlobalTensor::kPatchBias: return {d};
    case GlobalTensor::kClsToken: return {1, 1, d};
    case GlobalTensor::kPosEmbedding: return {1, c.tokens(), d};
    case GlobalTensor::kHeadNormWeight:
    case GlobalTensor::kHeadNormBias: return {d};
    case GlobalTensor::kHeadWeight: return {c.classes, d};
    case GlobalTensor::kHeadBias: return {c.classes};
    case GlobalTensor::kCount: break;
  }
  return {};
}

std::vector<int64_t> tensor_shape(const ModelConfig& c, BlockTensor which) {
  const int64_t d = c.embed_dim;
  switch (which) {
    case BlockTensor::kAttnNormWeight:
    case BlockTensor::kAttnNormBias:
    case BlockTensor::kMlpNormWeight:
    case BlockTensor::kMlpNormBias:
    case BlockTensor::kOutBias:
    case BlockTensor::kFc2Bias: return {d};
    case BlockTensor::kQkvWeight: return {3 * int64_t{c.inner_dim()}, d};
    case BlockTensor::kOutWeight: return {d, c.inner_dim()};
    case BlockTensor::kFc1Weight: return {c.mlp_dim, d};
    case BlockTensor::kFc1Bias: return {c.mlp_dim};
    case BlockTensor::kFc2Weight: return {d, c.mlp_dim};
    case BlockTensor::kCount: break;
  }
  return {};
}

bool is_gemm_weight(GlobalTensor which) {
  return which == GlobalTensor::kPatchWeight || which == GlobalTensor::kHeadWeight;
}

bool is_gemm_weight(BlockTensor which) {
  return which == BlockTensor::kQkvWeight || which == BlockTensor::kOutWeight || which == BlockTensor::kFc1Weight ||
         which == BlockTensor::kFc2Weight;
}

bool block_tensor_present(const ModelConfig& c, BlockTensor which) {
  if (which == BlockTensor::kOutWeight || which == BlockTensor::kOutBias) return c.project_out();
  return which != BlockTensor::kCount;
}

bool for_each_expected_tensor(const ModelConfig& c, const std::function<bool(const TensorSpec&)>& visit) {
  for (auto g = GlobalTensor{}; g != GlobalTensor::kCount; g = GlobalTensor(uint8_t(g) + 1)) {
    if (!visit({tensor_name(g), tensor_shape(c, g), is_gemm_weight(g)})) return false;
  }
  for (uint32_t b = 0; b < c.branches; ++b) {
    for (uint32_t j = 0; j < c.blocks_per_branch; ++j) {
      for (auto t = BlockTensor{}; t != BlockTensor::kCount; t = BlockTensor(uint8_t(t) + 1)) {
        if (block_tensor_present(c, t) && !visit({tensor_name(b, j, t), tensor_shape(c, t), is_gemm_weight(t)})) {
          return false;
        }
      }
    }
  }
  return true;
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> specs;
  for_each_expected_tensor(c, [&](const TensorSpec& spec) {
    specs.push_back(spec);
    return true;
  });
  return specs;
}

OperationCount operation_count(const ModelConfig& c) {
  const uint64_t t = c.tokens(), d = c.embed_dim, inner = c.inner_dim(), m = c.mlp_dim;
  // A block whose `queries` rows (of t) go on past the keys and values.
  const auto block = [&](uint64_t queries) {
    uint64_t ops = 2 * t * d * 2 * inner + 2 * queries * d * inner;  // k, v of every row; q
    ops += 2 * 2 * queries * t * inner;                              // QK^T and AV over all heads
    if (c.project_out()) ops += 2 * queries * inner * d;
    return ops + 2 * 2 * queries * d * m;  // both MLP layers
  };
  // With class-token pooling only row 0 of the last block's output is read.
  const uint64_t last_queries = c.pooling == Pooling::kCls ? 1 : t;
  OperationCount ops;
  ops.stem = 2 * uint64_t{c.patches()} * c.patch_dim() * d;
  ops.per_branch = block(t) * (c.blocks_per_branch - 1) + block(last_queries);
  ops.head = 2 * d * c.classes;
  return ops;
}

uint64_t element_count(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return 0;
    // Saturate instead of wrapping: a product this large never matches a real buffer.
    if (dim != 0 && n > UINT64_MAX / uint64_t(dim)) return UINT64_MAX;
    n *= uint64_t(dim);
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace pfrt::format
