// The state of one cpu-backend session, shared by the files that run its parts: the
// XNNPACK operators of every branch, and per branch slot a thread pool and an activation
// arena. Built once in CpuSession's constructor; run() only reads the layout.
#pragma once

#include <pthreadpool.h>

#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "cpu/arena.hpp"
#include "cpu/fully_connected.hpp"

namespace pfrt::cpu {

struct PoolDeleter {
  void operator()(pthreadpool* pool) const { pthreadpool_destroy(pool); }
};
using Pool = std::unique_ptr<pthreadpool, PoolDeleter>;

// Operators of one block; `out` is empty when the model has no output projection. The last
// block of a class-token-pooled branch has no `qkv` but `kv` (keys and values of every row)
// and `q` (the query of the class-token row only): the other queries would be thrown away.
struct BlockOps {
  FullyConnected qkv, kv, q, out, fc1, fc2;
};

// A branch slot: runs one branch at a time on one thread plus its pool (null: no workers).
// Buffers hold the whole batch (batch x tokens rows); `c_*` hold one row per image for the
// class-token-only last block.
struct Slot {
  Pool pool;
  uint32_t pool_flags = 0;  // for the slot's own pthreadpool calls (attention)
  FullyConnected stem;  // the patch embedding, for this slot's share of the stem rows
  Arena arena;
  float *z, *normed, *qkv, *attended, *update, *hidden;
  float *c_q, *c_attended, *c_update, *c_z, *c_normed, *c_hidden;
  // Attention: prepared keys per (image, head); scores scratch per (image, head, query block).
  float* attention_keys;
  size_t attention_keys_floats;
  float* attention_scores;
  size_t attention_scores_floats;
  uint32_t threads = 1;  // the slot's thread plus its pool workers
};

// Query blocks per (image, head) when `pairs` (image, head) pairs attend with `queries` rows
// each on `threads` threads: enough work items to balance the pool (about 8 per thread),
// none shorter than 8 rows. pairs x blocks never exceeds attention_items(threads, pairs).
size_t query_blocks(size_t threads, size_t pairs, size_t queries);
inline size_t attention_items(size_t threads, size_t pairs) { return pairs + (threads > 1 ? 8 * threads : 0); }

// Everything a branch run needs to know besides the slot.
struct BranchJob {
  const core::Model* model;
  const std::vector<BlockOps>* ops;  // the branch's blocks
  const std::vector<core::BlockWeights>* weights;
  const float* x0;                   // batch x tokens x D, the stem's output
  size_t batch;
  float* pooled;                     // batch x D: the branch's pooled output
};

// Runs one branch over the whole batch on `slot`; checks `control` between operators.
core::StopReason run_branch(const BranchJob& job, Slot& slot, const core::RunControl& control);

}  // namespace pfrt::cpu
