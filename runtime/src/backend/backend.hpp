// The interface every backend implements (reference, cpu, cuda). Backend-neutral code sees
// only this: a backend prepares a model for one session, then runs batches on it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "plan/execution_plan.hpp"
#include "plan/shard_plan.hpp"

namespace pfrt::core {

// How long an idle worker thread spins before it sleeps when the session does not say
// (pfrt_session_options.spin_us = -1), in microseconds: long enough to bridge the gaps between
// the operators of a run, short enough that a thread waiting for the next run soon gives its
// core to other processes. Measured: README, "Threads on a busy device".
inline constexpr uint32_t kDefaultSpinUs = 50;
inline constexpr uint32_t kMaxSpinUs = 1000000;

struct BackendOptions {
  uint32_t threads = 1;               // resolved: never 0
  uint64_t affinity_mask = 0;         // 0: no pinning
  uint32_t spin_us = kDefaultSpinUs;  // resolved
  plan::Shard shard;                  // the branches this session runs (every one unless sharded)
};

using Clock = std::chrono::steady_clock;

enum class StopReason { kNone, kCancelled, kDeadline };

struct RunRequest;
struct RunStatus;

// A sharded session's link to the other ranks (session/shard_exchange.hpp). A backend that runs
// a shard (BackendOptions::shard) calls agree() once its branches stopped, instead of settling
// the run alone, and reduce() on the merge's output before the rest of the head.
class ShardLink {
 public:
  virtual ~ShardLink() = default;
  // This rank stopped for `stopped` with the prefix 1..`prefix` finished as far as its own
  // branches go (plan::Shard::finished_prefix): the run's answer, the same on every rank.
  virtual RunStatus agree(StopReason stopped, uint32_t prefix, const RunRequest& request, bool best_prefix) = 0;
  // Sums `floats` floats at `data` over the ranks, in place.
  virtual void reduce(float* data, size_t floats) = 0;
};

// What may stop a run early. Backends call check() between operators and between branches.
struct RunControl {
  Clock::time_point deadline = Clock::time_point::max();
  // On the deadline: false -> the run fails (PFRT_DEADLINE_EXCEEDED); true -> the logits of the
  // longest prefix of branches 1..k that all finished are returned (anytime inference).
  bool best_prefix_on_deadline = false;
  const std::atomic<bool>* cancel = nullptr;
  // Test hook, called as each branch starts (e.g. to delay one branch); null in production.
  void (*on_branch_start)(uint32_t branch, void* context) = nullptr;
  void* hook_context = nullptr;
  ShardLink* shard = nullptr;  // set for a sharded session's runs

  StopReason check() const {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return StopReason::kCancelled;
    if (deadline != Clock::time_point::max() && Clock::now() >= deadline) return StopReason::kDeadline;
    return StopReason::kNone;
  }
  void branch_started(uint32_t branch) const {
    if (on_branch_start != nullptr) on_branch_start(branch, hook_context);
  }
};

struct RunRequest {
  const float* input = nullptr;  // batch x C x S x S, normalised
  size_t batch = 0;
  uint32_t branches = 0;    // prefix length asked for, 1..B
  float* logits = nullptr;  // batch x K
};

// Where the time of the last run went, summed over the batch. branch_ms is sized to the
// model's branch count when the session is made (no allocation per run).
// Per-stage times are per kind of stage (plan::StageKind, by index): the stages' own times
// summed over the run, on whichever threads ran them (concurrent branches add up), with the
// operations those stages did; zero where a backend does not time stages. One slot more than
// the plan has kinds: the quantisation of int8 GEMM inputs, which the cpu backend times apart
// from its GEMM stages (no operations counted: it does no multiply-adds).
inline constexpr size_t kQuantizeStageSlot = plan::kStageKinds;
inline constexpr size_t kProfiledStageKinds = plan::kStageKinds + 1;
// A profile slot's name: the plan's name of its kind of stage, or "quantize".
inline const char* profiled_stage_name(size_t slot) {
  return slot == kQuantizeStageSlot ? "quantize" : plan::to_string(plan::StageKind(slot));
}
struct RunProfile {
  double stem_ms = 0.0;
  double branches_ms = 0.0;       // wall time of the branch phase (all branches, concurrent or not)
  double head_ms = 0.0;           // merge + pooling + head
  std::vector<double> branch_ms;  // per branch: its own duration
  std::array<double, kProfiledStageKinds> stage_ms{};
  std::array<uint64_t, kProfiledStageKinds> stage_flops{};
};

struct RunStatus {
  StopReason stopped = StopReason::kNone;  // kDeadline with branches_used > 0: a best-prefix answer
  uint32_t branches_used = 0;              // prefix whose sum produced the logits (0: no logits)
};

// One session's prepared state (packed weights, buffers). Used by one thread at a time.
class BackendSession {
 public:
  virtual ~BackendSession() = default;
  // Runs the request; fills `profile`. Must not allocate in steady state.
  virtual RunStatus run(const RunRequest& request, const RunControl& control, RunProfile& profile) = 0;
  // One line on how the session runs, e.g. "reference: plain C++, 1 thread".
  virtual std::string describe() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Empty when the backend can run here, else why not (e.g. "no CUDA device").
  virtual std::string unavailable_reason() const { return {}; }
  // Whether it runs a shard of the branches (BackendOptions::shard with more than one rank).
  virtual bool shards() const { return false; }
  virtual std::unique_ptr<BackendSession> create_session(std::shared_ptr<const Model> model,
                                                         const BackendOptions& options) const = 0;
};

// The backends built into this library, fastest first.
const std::vector<const Backend*>& builtin_backends();
// The backend of that name; throws an Error listing the built-in names when unknown.
const Backend& find_backend(const std::string& name);
// The backend a session gets when it names none: cpu. Never another in its place: when it cannot
// run here, creating the session fails with its reason.
const Backend& default_backend();
// "cpu, reference" (the built-in backends, comma-separated).
std::string builtin_backend_names();

// Milliseconds between two time points.
inline double elapsed_ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace pfrt::core
