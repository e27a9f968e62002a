// What a valid pfrt model is, independent of how it is stored: the configuration, its limits,
// and the exact list of tensors (names and shapes) a configuration implies. The converter
// checks its input against this and the runtime checks every file against it, so the two can
// never disagree about what a model holds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pfrt::format {

// Format version this code writes and reads (schemas/pfrt.fbs).
inline constexpr uint32_t kFormatVersion = 1;

enum class Pooling : uint8_t { kCls = 0, kMean = 1 };
enum class Residual : uint8_t { kNormalizedInput = 0, kPreNorm = 1 };
enum class Gelu : uint8_t { kErf = 0, kTanh = 1 };
enum class TrainingMode : uint8_t { kUnknown = 0, kProgressive = 1, kPlain = 2 };

const char* to_string(Pooling);
const char* to_string(Residual);
const char* to_string(Gelu);
const char* to_string(TrainingMode);

struct ModelConfig {
  uint32_t image_size = 0;
  uint32_t channels = 0;
  uint32_t patch_size = 0;
  uint32_t embed_dim = 0;
  uint32_t heads = 0;
  uint32_t head_dim = 0;
  uint32_t mlp_dim = 0;
  uint32_t branches = 0;
  uint32_t blocks_per_branch = 0;
  uint32_t classes = 0;
  Pooling pooling = Pooling::kCls;
  Residual residual = Residual::kNormalizedInput;
  Gelu gelu = Gelu::kErf;
  float layernorm_eps = 1e-5f;
  std::vector<float> merge_weights;  // empty: plain sum
  std::vector<float> mean;           // per channel
  std::vector<float> std;            // per channel
  std::vector<std::string> labels;   // empty or one per class
  TrainingMode training = TrainingMode::kUnknown;

  // Derived sizes (valid once validate() accepted the config).
  uint32_t grid() const { return image_size / patch_size; }
  uint32_t patches() const { return grid() * grid(); }
  uint32_t tokens() const { return patches() + 1; }
  uint32_t patch_dim() const { return patch_size * patch_size * channels; }
  uint32_t inner_dim() const { return heads * head_dim; }
  // The authors' attention has no output projection when one head spans the whole width.
  bool project_out() const { return !(heads == 1 && head_dim == embed_dim); }
  uint64_t image_floats() const { return uint64_t{channels} * image_size * image_size; }
};

// Upper bounds that keep every size computation far from overflow and reject absurd files
// before anything is allocated. Generous for edge models (DeiT-Base is 768 wide).
struct Limits {
  static constexpr uint32_t kMaxImageSize = 4096;
  static constexpr uint32_t kMaxChannels = 64;
  static constexpr uint32_t kMaxTokens = 16385;
  static constexpr uint32_t kMaxWidth = 16384;  // embed, inner and MLP widths
  static constexpr uint32_t kMaxHeads = 1024;
  static constexpr uint32_t kMaxBranches = 1024;
  static constexpr uint32_t kMaxBlocksPerBranch = 1024;
  static constexpr uint32_t kMaxClasses = 1u << 20;
  static constexpr uint32_t kMaxLabelBytes = 4096;
};

// Empty when the config is valid, else a message naming the offending field and value.
std::string validate(const ModelConfig& config);

// The tensors of one block, in a fixed order; names follow the authors' state_dict keys.
enum class BlockTensor : uint8_t {
  kAttnNormWeight,
  kAttnNormBias,
  kQkvWeight,
  kOutWeight,
  kOutBias,
  kMlpNormWeight,
  kMlpNormBias,
  kFc1Weight,
  kFc1Bias,
  kFc2Weight,
  kFc2Bias,
  kCount
};
enum class GlobalTensor : uint8_t {
  kPatchWeight,
  kPatchBias,
  kClsToken,
  kPosEmbedding,
  kHeadNormWeight,
  kHeadNormBias,
  kHeadWeight,
  kHeadBias,
  kCount
};

std::string tensor_name(GlobalTensor which);
std::string tensor_name(uint32_t branch, uint32_t block, BlockTensor which);
std::vector<int64_t> tensor_shape(const ModelConfig& config, GlobalTensor which);
std::vector<int64_t> tensor_shape(const ModelConfig& config, BlockTensor which);
// The output projection is absent when !config.project_out().
bool block_tensor_present(const ModelConfig& config, BlockTensor which);

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};
// Every tensor a model with this (valid) config holds, stem first, then branch by branch.
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);
// The same one at a time, stopping when `visit` returns false (then returns false). A config may
// imply millions of tensors; a reader that checks a file against it stops at the first missing
// one instead of building the whole list.
bool for_each_expected_tensor(const ModelConfig& config, const std::function<bool(const TensorSpec&)>& visit);

// Operation count (2 x multiply-adds of every GEMM and of attention's QK^T and AV; the few
// element-wise operations are not counted), per image, of what the network's output needs:
// with class-token pooling the last block of a branch computes keys and values for every row
// but queries, attention, projection and MLP for row 0 only (docs/network.md, "Exact saving").
// What benchmarks turn into GFLOP/s; a backend that computes more is not credited for it.
struct OperationCount {
  uint64_t stem = 0;        // patch embedding
  uint64_t per_branch = 0;  // all blocks of one branch
  uint64_t head = 0;        // classifier
  uint64_t total(uint32_t branches) const { return stem + uint64_t{branches} * per_branch + head; }
};
OperationCount operation_count(const ModelConfig& config);

uint64_t element_count(const std::vector<int64_t>& shape);    // 0 for a negative dim
std::string shape_string(const std::vector<int64_t>& shape);  // "[192, 64]"

}  // namespace pfrt::format
