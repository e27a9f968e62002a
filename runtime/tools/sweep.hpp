// The depth sweep: random-weight models of one block shape, built in memory, as a Para-Former
// with B parallel branches of one block and as a serial ViT of L blocks in one branch. Their
// latency against depth is the paper's central figure, measured on the device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/model_spec.hpp"

namespace pfrt::tools {

// DeiT-Tiny by default: 224x224x3, patch 16, D=192, 3 heads of 64, MLP 768, 1000 classes.
struct BlockShape {
  uint32_t image_size = 224, channels = 3, patch_size = 16, embed_dim = 192, heads = 3, head_dim = 64, mlp_dim = 768,
           classes = 1000;
};

enum class SweepKind { kParallel, kSerial };
const char* to_string(SweepKind kind);  // "parallel" / "serial"

// depth = branches (parallel, one block each) or blocks (serial, one branch). Throws
// std::invalid_argument naming the field when the shape is not a valid model.
format::ModelConfig sweep_config(const BlockShape& shape, SweepKind kind, uint32_t depth);

// A complete model file (in memory) for the config, with deterministic random weights.
std::vector<uint8_t> sweep_model_bytes(const format::ModelConfig& config, uint32_t seed);

}  // namespace pfrt::tools
