#include "sweep.hpp"

#include <stdexcept>

#include "model_writer.hpp"
#include "precision.hpp"

namespace pfrt::tools {

const char* to_string(SweepKind kind) { return kind == SweepKind::kParallel ? "parallel" : "serial"; }

format::ModelConfig sweep_config(const BlockShape& shape, SweepKind kind, uint32_t depth) {
  format::ModelConfig c;
  c.image_size = shape.image_size;
  c.channels = shape.channels;
  c.patch_size = shape.patch_size;
  c.embed_dim = shape.embed_dim;
  c.heads = shape.heads;
  c.head_dim = shape.head_dim;
  c.mlp_dim = shape.mlp_dim;
  c.classes = shape.classes;
  c.branches = kind == SweepKind::kParallel ? depth : 1;
  c.blocks_per_branch = kind == SweepKind::kParallel ? 1 : depth;
  c.mean.assign(shape.channels, 0.5f);
  c.std.assign(shape.channels, 0.25f);
  const std::string error = format::validate(c);
  if (!error.empty()) throw std::invalid_argument("sweep shape: " + error);
  return c;
}

std::vector<uint8_t> sweep_model_bytes(const format::ModelConfig& config, uint32_t seed) {
  // xorshift32: fast enough for tens of millions of weights; small values keep activations tame.
  uint32_t state = seed ? seed : 1;
  std::vector<convert::WriterTensor> tensors;
  for (const format::TensorSpec& spec : format::expected_tensors(config)) {
    std::vector<float> values(size_t(format::element_count(spec.shape)));
    for (float& v : values) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      v = (float(state >> 8) * (1.0f / 16777216.0f) - 0.5f) * 0.1f;
    }
    tensors.push_back(convert::stored_tensor(spec, values, config.quantization.precision, "sweep"));
  }
  convert::WriterHeader header;
  header.name = "sweep";
  return convert::serialize_model(config, tensors, header);
}

}  // namespace pfrt::tools
