// A session: one stream of inferences over a shared model on one backend. Checks every
// request against the model before the backend sees it, and turns deadlines and cancellation
// into the backend's RunControl.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.hpp"
#include "model/model.hpp"

namespace pfrt::core {

struct SessionOptions {
  std::string backend;  // empty: default backend
  int32_t threads = 0;  // 0: every online core
  uint64_t affinity_mask = 0;
  int32_t spin_us = -1;  // -1: kDefaultSpinUs; 0: idle workers sleep at once
};

struct RunOptions {
  uint32_t branches = 0;  // prefix length, 0 for all
  Clock::time_point deadline = Clock::time_point::max();
  bool best_prefix_on_deadline = false;
};

struct RunOutcome {
  uint32_t branches_used = 0;
  size_t batch = 0;
  double elapsed_ms = 0.0;
  bool deadline_reached = false;  // true: a best-prefix answer (branches_used < asked)
};

class ShardExchange;

class Session {
 public:
  // shard: this rank's exchange with the others in a sharded session (null: not sharded).
  Session(std::shared_ptr<const Model> model, const SessionOptions& options,
          std::shared_ptr<ShardExchange> shard = nullptr);
  ~Session();

  const Model& model() const { return *model_; }
  const char* backend_name() const { return backend_->name(); }
  std::string describe() const;
  ShardExchange* shard() const { return shard_.get(); }  // null unless sharded
  uint32_t threads() const { return options_.threads; }

  // input_floats must be a whole number of images; logits_floats at least batch x classes.
  // Throws Error: PFRT_CANCELLED, PFRT_DEADLINE_EXCEEDED (also when no prefix finished in
  // best-prefix mode), or PFRT_INVALID_ARGUMENT.
  RunOutcome run(const float* input, size_t input_floats, float* logits, size_t logits_floats,
                 const RunOptions& options);

  // Thread-safe: makes the run in progress return PFRT_CANCELLED at its next check. A cancel
  // while no run is in progress has no effect.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }

  // Timings of the last run.
  const RunProfile& last_profile() const { return profile_; }

  // Test hook: called as each branch starts. Internal (white-box tests only).
  void set_branch_hook(void (*hook)(uint32_t branch, void* context), void* context) {
    hook_ = hook;
    hook_context_ = context;
  }

 private:
  std::shared_ptr<const Model> model_;
  const Backend* backend_;
  BackendOptions options_;
  std::shared_ptr<ShardExchange> shard_;
  std::unique_ptr<BackendSession> state_;
  RunProfile profile_;
  std::atomic<bool> cancel_{false};
  void (*hook_)(uint32_t, void*) = nullptr;
  void* hook_context_ = nullptr;
};

// Number of online CPU cores (at least 1).
uint32_t online_cores();

}  // namespace pfrt::core
