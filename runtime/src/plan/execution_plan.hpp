// The execution plan: how a model runs, decided once per (model, session options) and executed
// by every backend with its own kernels. It holds
//   - the stages of the forward pass (docs/network.md): the stem, one branch's blocks (the same
//     program for every branch, with that branch's weights), the merge, pooling and head, each
//     stage with its operands' shapes and strides;
//   - the class-row saving: with class-token pooling the last block of a branch computes keys
//     and values of every row but the query, attention, projection and MLP of row 0 only, and
//     writes the branch's pooled row directly;
//   - every intermediate buffer with its offset in one arena per kind (the session's arena; one
//     arena per branch slot, all alike), space reused once a buffer is dead (the stem's buffers
//     count as live together: a backend may split the stem into row blocks that run at once);
//   - the branch schedule: which slot or stream runs which branch, in which order;
// and the rule that picks the answer of a stopped run is in prefix_rule.hpp.
//
// Pure C++ (no XNNPACK, oneTBB or CUDA). A backend that runs the plan decides only how to run
// a stage (its kernels, its threads inside a stage), never what runs, where it is stored or in
// which order the branches go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/model_spec.hpp"
#include "plan/shard_plan.hpp"
#include "plan/thread_plan.hpp"
#include "plan/weight_ref.hpp"

namespace pfrt::plan {

// Where a buffer lives. kInput and kLogits are the caller's (the request's input images and
// logits); kSession is planned once per session, kSlot once per branch slot (or stream).
enum class Arena : uint8_t { kInput, kLogits, kSession, kSlot };

using BufferId = uint32_t;

struct Buffer {
  std::string name;  // "x0", "qkv", ... (messages, tests, describe)
  Arena arena;
  size_t floats = 0;  // for the plan's batch capacity
  size_t offset = 0;  // floats from its arena's start (0 for kInput and kLogits)
};

// Rows of one operand: `rows` rows per image of `cols` values, row r of image i at
// buffer + offset + i * image_stride + r * row_stride (+ branch * branch_stride in a branch's
// output). A backend needs no other layout knowledge.
struct View {
  BufferId buffer = 0;
  size_t offset = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  size_t row_stride = 0;
  size_t image_stride = 0;
  size_t branch_stride = 0;

  // The rows of n images form one matrix with a uniform row stride (what a GEMM reads): images
  // back to back, or one row per image.
  bool uniform() const { return rows == 1 || image_stride == size_t{rows} * row_stride; }
  // Stride between consecutive rows of that matrix.
  size_t matrix_stride() const { return rows == 1 ? image_stride : row_stride; }
  // Rows and columns dense: n images are n * rows * cols consecutive floats.
  bool dense() const { return row_stride == cols && uniform(); }
};

enum class Op : uint8_t {
  kGatherPatches,   // out (N rows of P*P*C per image) = the patches of the input image
  kLinear,          // out = act(in W^T + b) + aux (aux: residual, optional)
  kAssembleTokens,  // out (T rows) = [cls + pos[0]; in + pos[1..T)]
  kLayerNorm,       // out = LN(in) with gamma, beta
  kAttention,       // out = softmax(q k^T / sqrt(d_h)) v per head; q = in, k = aux, v = aux + inner
  kAdd,             // out = in + aux
  kMeanRows,        // out (1 row) = mean of the rows of in
  kMerge,           // out = sum over branches b < k (the run's prefix) of w_b * in[b], b of this shard
};
const char* to_string(Op op);

enum class Activation : uint8_t { kNone, kGelu };

// What a stage is in the network, for per-stage profiles (pfrt-bench --profile stages).
enum class StageKind : uint8_t {
  kStem,        // patch gather, embedding GEMM, tokens
  kQkv,         // the QKV GEMM (or keys/values and the class-row query)
  kAttention,   // softmax(q k^T) v
  kProjection,  // the attention output projection (with its residual add)
  kLayerNorm,   // the blocks' LayerNorms
  kFc1Gelu,     // MLP fc1 with GELU
  kFc2,         // MLP fc2 (with its residual add)
  kAdd,         // residual adds without a GEMM, mean pooling
  kHead,        // merge, LayerNorm, classifier
  kCount
};
inline constexpr size_t kStageKinds = size_t(StageKind::kCount);
const char* to_string(StageKind kind);

// A GEMM with static weights: rows [first_row, first_row + out) of `weight` ([*, in]), bias
// optional. Branch layers name block tensors; the executing branch supplies its index.
// `quantization` is how the layer computes, the one place a backend reads it from:
//   f32:  y = x W^T + b in f32;
//   f16:  weights stored as f16, run as f32 where the hardware has no f16 arithmetic (the
//         model holds them widened) or as f16 products with f32 accumulation (GPU);
//   int8: (README, "int8 and f16 models") x quantised per row at run time, int32 products of q_x and
//         q_w, y = float(acc) * (s_x[r] * s_w[n]) + b[n], then the f32 epilogue.
struct LinearLayer {
  std::string name;  // "block 0 qkv", "stem", ...
  WeightRef weight;
  uint32_t first_row = 0;
  uint32_t in = 0, out = 0;
  WeightRef bias;  // kNone: no bias
  format::Quantization quantization;
  bool int8() const { return quantization.precision == format::Precision::kInt8; }
};

struct Stage {
  Op op;
  StageKind kind = StageKind::kStem;
  View in, out, aux;
  bool has_aux = false;
  uint32_t linear = 0;                        // kLinear: index into the plan's linear layers
  Activation activation = Activation::kNone;  // kLinear
  WeightRef gamma, beta;                      // kLayerNorm
  WeightRef cls, pos;                         // kAssembleTokens: class token, position embedding
  BufferId scratch = 0;  // kAttention: the backend's scratch (kSlot); int8 (f16) kLinear: the quantised
                         // (half-precision) input, in the arena of the stage's input
  bool has_scratch = false;
  uint32_t block = 0;  // the block a branch stage belongs to (profiles, messages)
  // Multiply-adds x 2 per image (GEMMs and attention's two products), what benchmarks count.
  uint64_t flops_per_image = 0;
};

// What a backend needs its attention scratch sized for: per image and head, `queries` query
// rows against `tokens` keys; `threads` threads split one stage.
struct AttentionShape {
  size_t batch, heads, tokens, head_dim, queries, threads;
};
using AttentionScratch = size_t (*)(const AttentionShape& shape);
// What a backend needs for an int8 GEMM's quantised input: floats for `rows` rows of linear
// layer `layer` (PlanOptions::int8_scratch). The input is quantised once per GEMM stage.
using Int8Scratch = std::function<size_t(uint32_t layer, size_t rows)>;

struct PlanOptions {
  size_t batch = 1;                              // capacity: runs of up to this many images
  uint32_t threads = 1;                          // the session's threads (cpu: split by plan_threads)
  uint32_t max_slots = 0;                        // when non-zero, at most this many slots (streams), one thread each
  AttentionScratch attention_scratch = nullptr;  // null: no scratch
  Int8Scratch int8_scratch;                      // empty: none (int8 linear stages get no scratch)
  Int8Scratch f16_scratch;  // the same for f16 linear stages (a GPU's half-precision input); empty: none
  Shard shard;              // the branches this process runs (all: one rank)
};

class ExecutionPlan {
 public:
  ExecutionPlan() = default;
  ExecutionPlan(const format::ModelConfig& config, const PlanOptions& options);

  const format::ModelConfig& config() const { return config_; }
  size_t batch() const { return batch_; }

  const std::vector<Stage>& stem() const { return stem_; }
  const std::vector<Stage>& branch() const { return branch_; }  // for any branch b
  // Sharded (shard().ranks > 1): the merge sums this rank's branches of the prefix only, and its
  // output is summed over the ranks before the next head stage (session/shard_exchange.hpp).
  const std::vector<Stage>& head() const { return head_; }
  const std::vector<LinearLayer>& linears() const { return linears_; }
  const std::vector<Buffer>& buffers() const { return buffers_; }
  const Buffer& buffer(BufferId id) const { return buffers_[id]; }
  size_t arena_floats(Arena arena) const;  // kSession or kSlot

  // The schedule: slots (threads or streams) that run branches at once, and their threads.
  const ThreadPlan& threads() const { return threads_; }
  const Shard& shard() const { return shard_; }
  uint32_t slots() const { return threads_.slots(); }
  // Branches launch in index order. An executor that runs branches itself lets each slot take
  // the next unlaunched branch when it is free; one that queues work ahead (CUDA streams) puts
  // branch b on slot queued_slot(b): a shard's i-th branch (plan::Shard::branch) on slot i mod
  // slots. Both give a finished prefix in index order.
  uint32_t queued_slot(uint32_t branch) const { return branch / shard_.ranks % slots(); }

  // 2 x multiply-adds per image of the stem, one branch and the head: equal to
  // format::operation_count (a test checks), so every backend is credited the same work.
  format::OperationCount operation_count() const;

  // The GEMMs' precision and quantisation (every linear layer's; the model's).
  const format::Quantization& quantization() const { return config_.quantization; }

  // "2 branch slots x 1 thread, ...; arenas 1.2 MiB + 2 x 0.8 MiB"
  std::string describe() const;

 private:
  format::ModelConfig config_;
  size_t batch_ = 0;
  ThreadPlan threads_;
  Shard shard_;
  std::vector<Buffer> buffers_;
  std::vector<LinearLayer> linears_;
  std::vector<Stage> stem_, branch_, head_;
  size_t session_floats_ = 0, slot_floats_ = 0;
};

// Where a run's memory is: the caller's input and logits, the session's arena and the arena of
// the slot that runs the stage (host or device addresses alike).
struct Memory {
  const float* input = nullptr;
  float* logits = nullptr;
  float* session = nullptr;
  float* slot = nullptr;
};

// The first float (image 0, row 0) of `view` in `memory`, for branch `branch`.
float* locate(const ExecutionPlan& plan, const Memory& memory, const View& view, uint32_t branch = 0);

}  // namespace pfrt::plan
