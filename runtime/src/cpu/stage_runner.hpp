// How the cpu backend runs a stage of the execution plan: pfrt's packed GEMM for linear layers
// (weights shared by the model's sessions), its own kernels for the rest, each stage split over
// the team of the branch slot that runs it. What runs, where its operands live and in which
// order is the plan's; this file only computes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/packed_model.hpp"
#include "cpu/worker_team.hpp"
#include "model/model.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cpu {

// The attention kernels' scratch for a stage of that shape (PlanOptions::attention_scratch):
// the prepared keys of every (image, head), then a row of scores per work item.
size_t attention_scratch_floats(const plan::AttentionShape& shape);

// How an attention stage of `pairs` (image, head) pairs, `queries` query rows each, is cut into
// work items for `threads` threads (about 4 a thread for the keys, 12 for the queries, so that
// uneven pair counts still balance): each pair's prepared keys in `key_pieces` pieces of its
// head_dim rows (at least 8 rows each), its query rows in `blocks` blocks of `rows_per_block`
// rows (the last may be shorter). A block is a multiple of the kernel's register block
// (kernels::kAttentionBlockRows) and at least 8 rows, unless it is the only one.
// pairs x blocks never exceeds attention_items(threads, pairs).
struct AttentionSplit {
  size_t key_pieces = 1;
  size_t rows_per_block = 0;
  size_t blocks = 1;
};
AttentionSplit attention_split(size_t threads, size_t pairs, size_t queries, size_t head_dim);
inline size_t attention_items(size_t threads, size_t pairs) { return pairs + (threads > 1 ? 12 * threads : 0); }

class StageRunner {
 public:
  StageRunner(const plan::ExecutionPlan& plan, const core::Model& model, const PackedModel& packed)
      : plan_(plan), model_(model), packed_(packed) {}

  // Stage `s` for n images on `team`; `branch` selects a branch stage's weights and pooled
  // row, `prefix` the branches a merge sums. Adds to `quantize_ms` the time an int8 GEMM
  // stage spent quantising its input, or an f16 one rounding it to f16 (part of the stage's own
  // time).
  void run(const plan::Stage& s, const plan::Memory& memory, size_t n, uint32_t branch, uint32_t prefix,
           WorkerTeam& team, double& quantize_ms) const;

  // The stem (gather, patch embedding, tokens) for patch rows [first, first + count) of the
  // batch's n x N patch rows: the stem is split over the slots, each slot's team splitting its
  // share again. `class_rows`: also write every image's class-token row. Adds to
  // `quantize_ms` an int8 stem's time quantising its patches (its share of the team's time).
  void run_stem(const plan::Memory& memory, size_t n, size_t first, size_t count, bool class_rows, WorkerTeam& team,
                double& quantize_ms) const;

 private:
  // Rows [first_row, first_row + rows) of a linear stage's matrices.
  void linear(const plan::Stage& s, const plan::Memory& memory, uint32_t branch, size_t first_row, size_t rows,
              WorkerTeam& team, double& quantize_ms) const;
  // An int8 GEMM stage (plan linear layer int8()): its input quantised into the stage's scratch.
  void linear_int8(const plan::Stage& s, const plan::Memory& memory, uint32_t branch, size_t rows, WorkerTeam& team,
                   double& quantize_ms) const;
  Activation activation(const plan::Stage& s) const;  // the kernel's form of the stage's activation
  void layer_norm(const plan::Stage& s, const plan::Memory& memory, size_t n, uint32_t branch, WorkerTeam& team) const;
  void attention(const plan::Stage& s, const plan::Memory& memory, size_t n, uint32_t branch, WorkerTeam& team) const;

  const plan::ExecutionPlan& plan_;
  const core::Model& model_;
  const PackedModel& packed_;
};

}  // namespace pfrt::cpu
