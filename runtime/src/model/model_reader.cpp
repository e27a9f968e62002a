#include "model/model_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "error.hpp"
#include "pfrt_generated.h"

namespace pfrt::core {

namespace {

namespace fb = pfrt::fb;

constexpr size_t kSizePrefixBytes = sizeof(flatbuffers::uoffset_t);
constexpr size_t kIdentifierOffset = kSizePrefixBytes + sizeof(flatbuffers::uoffset_t);
constexpr size_t kIdentifierBytes = flatbuffers::kFileIdentifierLength;
constexpr size_t kTensorAlignment = 64;

[[noreturn]] void invalid(const std::string& origin, const std::string& what) {
  fail(PFRT_INVALID_MODEL, origin + ": " + what);
}

std::string printable(const uint8_t* bytes, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = bytes[i];
    if (c >= 0x20 && c < 0x7f) {
      s += char(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    }
  }
  return s;
}

uint32_t read_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void check_envelope(const uint8_t* data, size_t size, const std::string& origin) {
  if (size < kIdentifierOffset + kIdentifierBytes) {
    invalid(origin, "truncated: " + std::to_string(size) + " bytes is too short for a pfrt model header");
  }
  if (std::memcmp(data + kIdentifierOffset, fb::ModelIdentifier(), kIdentifierBytes) != 0) {
    invalid(origin, "not a pfrt model: file identifier is '" + printable(data + kIdentifierOffset, kIdentifierBytes) +
                        "', expected '" + fb::ModelIdentifier() + "'");
  }
  const uint64_t recorded = uint64_t(read_le32(data)) + kSizePrefixBytes;
  if (recorded > size) {
    invalid(origin, "truncated: the header records " + std::to_string(recorded) + " bytes but only " +
                        std::to_string(size) + " are present");
  }
  if (recorded < size) {
    invalid(origin, "has " + std::to_string(size - recorded) + " unexpected bytes after the " +
                        std::to_string(recorded) + " bytes its header records");
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 16;
  options.max_tables = 1u << 22;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(data, size, options);
  if (!fb::VerifySizePrefixedModelBuffer(verifier)) {
    invalid(origin, "corrupt: FlatBuffers verification failed (an offset, length or required field is invalid)");
  }
}

void check_versions(const fb::Model& model, const std::string& origin) {
  if (model.format_version() == 0 || model.min_reader_version() == 0) {
    invalid(origin, "corrupt: format_version and min_reader_version must be at least 1");
  }
  if (model.min_reader_version() > format::kFormatVersion) {
    fail(PFRT_UNSUPPORTED, origin + ": written in pfrt format version " + std::to_string(model.format_version()) +
                               ", which needs a reader of version " + std::to_string(model.min_reader_version()) +
                               " or newer; this runtime reads format version " +
                               std::to_string(format::kFormatVersion) + ": upgrade pfrt");
  }
}

template <typename Enum>
Enum checked_enum(int value, int max, const char* field, const std::string& origin) {
  if (value < 0 || value > max) {
    fail(PFRT_UNSUPPORTED, origin + ": config field '" + field + "' has value " + std::to_string(value) +
                               ", which this runtime does not know (newer file?)");
  }
  return Enum(value);
}

std::vector<float> to_vector(const flatbuffers::Vector<float>* v) {
  return v ? std::vector<float>(v->begin(), v->end()) : std::vector<float>{};
}

format::ModelConfig read_config(const fb::Config& c, const std::string& origin) {
  format::ModelConfig config;
  config.image_size = c.image_size();
  config.channels = c.channels();
  config.patch_size = c.patch_size();
  config.embed_dim = c.embed_dim();
  config.heads = c.heads();
  config.head_dim = c.head_dim();
  config.mlp_dim = c.mlp_dim();
  config.branches = c.branches();
  config.blocks_per_branch = c.blocks_per_branch();
  config.classes = c.classes();
  config.pooling = checked_enum<format::Pooling>(int(c.pooling()), 1, "pooling", origin);
  config.residual = checked_enum<format::Residual>(int(c.residual()), 1, "residual", origin);
  config.gelu = checked_enum<format::Gelu>(int(c.gelu()), 1, "gelu", origin);
  config.training = checked_enum<format::TrainingMode>(int(c.training()), 2, "training", origin);
  config.quantization.precision = checked_enum<format::Precision>(int(c.precision()), 2, "precision", origin);
  config.quantization.weights =
      checked_enum<format::WeightQuantization>(int(c.weight_quantization()), 1, "weight_quantization", origin);
  config.quantization.activations = checked_enum<format::ActivationQuantization>(int(c.activation_quantization()), 1,
                                                                                 "activation_quantization", origin);
  config.layernorm_eps = c.layernorm_eps();
  config.merge_weights = to_vector(c.merge_weights());
  config.mean = to_vector(c.mean());
  config.std = to_vector(c.std());
  if (c.labels()) {
    for (const flatbuffers::String* label : *c.labels()) config.labels.push_back(label ? label->str() : std::string());
  }
  if (std::string problem = format::validate(config); !problem.empty()) invalid(origin, problem);
  return config;
}

const char* dtype_name(fb::DType dtype) {
  const char* name = fb::EnumNameDType(dtype);
  return name[0] ? name : "unknown";
}

// Index of the first NaN or infinity among `count` floats, or `count` when all are finite.
uint64_t first_non_finite(const uint8_t* data, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    float v;
    std::memcpy(&v, data + i * sizeof(float), sizeof(float));
    if (!std::isfinite(v)) return i;
  }
  return count;
}

// The same for IEEE binary16 values (exponent all ones: infinity or NaN).
uint64_t first_non_finite_half(const uint8_t* data, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    uint16_t h;
    std::memcpy(&h, data + i * sizeof(h), sizeof(h));
    if ((h & 0x7c00u) == 0x7c00u) return i;
  }
  return count;
}

std::string non_finite_name(float v) { return std::isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity"; }

size_t element_bytes(fb::DType dtype) {
  return dtype == fb::DType::F16 ? 2 : dtype == fb::DType::I8 ? 1 : sizeof(float);
}

// The dtype a tensor must have: the model's precision for GEMM weights, f32 for the rest.
fb::DType expected_dtype(const format::TensorSpec& spec, const format::ModelConfig& config) {
  return spec.gemm_weight ? fb::DType(config.quantization.precision) : fb::DType::F32;
}

// Checks the values of a tensor of dtype `dtype` (finite; int8 in [-127, 127] with one finite,
// positive scale per row) and returns its scales (null unless int8).
const float* check_values(const fb::Tensor& t, fb::DType dtype, const format::TensorSpec& spec, uint64_t count,
                          const uint8_t* base, const std::string& origin) {
  const uint8_t* begin = t.data()->data();
  if (dtype != fb::DType::I8 && t.scales() && t.scales()->size() != 0) {
    invalid(origin, "tensor '" + spec.name + "' is " + dtype_name(dtype) + " but has " +
                        std::to_string(t.scales()->size()) + " scales (only I8 tensors have scales)");
  }
  if (dtype == fb::DType::F32) {
    // Weights are never NaN or infinite in a usable model (a diverged training run or a
    // corrupt file); refusing them here keeps every backend's arithmetic well defined.
    if (const uint64_t i = first_non_finite(begin, count); i != count) {
      float v;
      std::memcpy(&v, begin + i * sizeof(float), sizeof(float));
      invalid(origin, "tensor '" + spec.name + "' element " + std::to_string(i) + " is " + non_finite_name(v) +
                          ": weights must be finite (corrupt file or diverged training?)");
    }
    return nullptr;
  }
  if (dtype == fb::DType::F16) {
    if (const uint64_t i = first_non_finite_half(begin, count); i != count) {
      invalid(origin, "tensor '" + spec.name + "' element " + std::to_string(i) +
                          " is an f16 infinity or NaN: weights must be finite");
    }
    return nullptr;
  }
  // I8, symmetric per output channel: one scale per row, values in [-127, 127].
  const uint64_t rows = spec.shape.empty() ? 0 : uint64_t(spec.shape[0]);
  const uint64_t scale_count = t.scales() ? t.scales()->size() : 0;
  if (scale_count != rows) {
    invalid(origin, "tensor '" + spec.name + "' is I8 with " + std::to_string(scale_count) + " scales; its " +
                        std::to_string(rows) + " output channels need one each");
  }
  if (rows != 0 && size_t(reinterpret_cast<const uint8_t*>(t.scales()->data()) - base) % sizeof(float) != 0) {
    invalid(origin, "corrupt: the scales of tensor '" + spec.name + "' are not 4-byte aligned");
  }
  for (uint64_t r = 0; r < rows; ++r) {
    const float scale = t.scales()->Get(flatbuffers::uoffset_t(r));
    if (!std::isfinite(scale) || !(scale > 0.0f)) {
      std::ostringstream what;
      what << "tensor '" << spec.name << "' scale " << r << " is " << scale
           << ": int8 scales must be finite and positive";
      invalid(origin, what.str());
    }
  }
  for (uint64_t i = 0; i < count; ++i) {
    if (int8_t(begin[i]) == -128) {
      invalid(origin, "tensor '" + spec.name + "' element " + std::to_string(i) +
                          " is -128: symmetric int8 weights lie in [-127, 127]");
    }
  }
  return rows == 0 ? nullptr : t.scales()->data();
}

// Checks every tensor against the spec the config implies and returns pointers to their data.
// Walks the expected tensors one at a time: a config implying millions of tensors fails at the
// first one the file lacks, without building the whole list.
std::map<std::string, StoredTensor> read_tensors(const fb::Model& model, const format::ModelConfig& config,
                                                 const uint8_t* base, const std::string& origin) {
  std::map<std::string, const fb::Tensor*> by_name;
  if (model.tensors()) {
    for (const fb::Tensor* t : *model.tensors()) {
      if (!by_name.emplace(t->name()->str(), t).second)
        invalid(origin, "tensor '" + t->name()->str() + "' appears twice");
    }
  }
  std::map<std::string, StoredTensor> tensors;
  std::vector<std::pair<const uint8_t*, const uint8_t*>> ranges;
  format::for_each_expected_tensor(config, [&](const format::TensorSpec& spec) {
    auto it = by_name.find(spec.name);
    if (it == by_name.end()) invalid(origin, "missing tensor '" + spec.name + "' " + format::shape_string(spec.shape));
    const fb::Tensor& t = *it->second;
    const fb::DType dtype = expected_dtype(spec, config);
    if (t.dtype() != dtype) {
      if (int(t.dtype()) < 0 || int(t.dtype()) > 2) {
        fail(PFRT_UNSUPPORTED, origin + ": tensor '" + spec.name + "' has dtype " + std::to_string(int(t.dtype())) +
                                   ", which this runtime does not know (newer file?)");
      }
      invalid(origin, "tensor '" + spec.name + "' has dtype " + dtype_name(t.dtype()) + "; a model of precision " +
                          format::to_string(config.quantization.precision) + " stores it as " + dtype_name(dtype) +
                          (spec.gemm_weight ? " (a GEMM weight)" : " (only GEMM weights are quantised)"));
    }
    // The FlatBuffers verifier checks a vector's alignment for its 4-byte length only. Every
    // FlatBuffers builder puts int64 elements on 8 bytes; reading them anywhere else is
    // undefined behaviour (found by tests/fuzz/fuzz_model_buffer).
    if (t.shape() && t.shape()->size() != 0 &&
        size_t(reinterpret_cast<const uint8_t*>(t.shape()->data()) - base) % sizeof(int64_t) != 0) {
      invalid(origin, "corrupt: the shape of tensor '" + spec.name + "' is not " + std::to_string(sizeof(int64_t)) +
                          "-byte aligned");
    }
    const std::vector<int64_t> shape =
        t.shape() ? std::vector<int64_t>(t.shape()->begin(), t.shape()->end()) : std::vector<int64_t>{};
    if (shape != spec.shape) {
      invalid(origin, "tensor '" + spec.name + "' has shape " + format::shape_string(shape) + ", the config needs " +
                          format::shape_string(spec.shape));
    }
    const uint64_t count = format::element_count(shape);
    const uint64_t expected_bytes = count * element_bytes(dtype);
    const uint64_t actual_bytes = t.data() ? t.data()->size() : 0;
    if (actual_bytes != expected_bytes) {
      invalid(origin, "tensor '" + spec.name + "' holds " + std::to_string(actual_bytes) + " bytes of data; shape " +
                          format::shape_string(shape) + " in " + format::to_string(format::Precision(dtype)) +
                          " needs " + std::to_string(expected_bytes));
    }
    const uint8_t* begin = t.data()->data();
    const size_t offset = size_t(begin - base);
    if (offset % kTensorAlignment != 0) {
      invalid(origin, "tensor '" + spec.name + "' data at file offset " + std::to_string(offset) + " is not " +
                          std::to_string(kTensorAlignment) + "-byte aligned");
    }
    StoredTensor stored;
    stored.dtype = format::Precision(dtype);
    stored.scales = check_values(t, dtype, spec, count, base, origin);
    stored.data = begin;
    ranges.emplace_back(begin, begin + actual_bytes);
    tensors.emplace(spec.name, stored);
    by_name.erase(it);
    return true;
  });
  if (!by_name.empty()) {
    invalid(origin, "unexpected tensor '" + by_name.begin()->first + "' (not part of a model with this config; " +
                        std::to_string(by_name.size()) + " such tensor(s))");
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      invalid(origin,
              "corrupt: the data of two tensors overlap at file offset " + std::to_string(ranges[i].first - base));
    }
  }
  return tensors;
}

}  // namespace

ModelContents read_model(const uint8_t* data, size_t size, const std::string& origin) {
  check_envelope(data, size, origin);
  const fb::Model& model = *fb::GetSizePrefixedModel(data);
  check_versions(model, origin);

  ModelContents contents;
  contents.config = read_config(*model.config(), origin);
  contents.tensors = read_tensors(model, contents.config, data, origin);
  if (model.name()) contents.name = model.name()->str();
  const std::pair<const char*, const flatbuffers::String*> header[] = {
      {"producer", model.producer()},
      {"producer_version", model.producer_version()},
      {"source_sha256", model.source_sha256()},
  };
  for (const auto& [key, value] : header) {
    if (value) contents.metadata[key] = value->str();
  }
  if (model.metadata()) {
    for (const fb::KeyValue* kv : *model.metadata()) {
      contents.metadata.emplace(kv->key()->str(), kv->value() ? kv->value()->str() : std::string());
    }
  }
  return contents;
}

}  // namespace pfrt::core
