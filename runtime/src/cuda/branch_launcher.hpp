// How a CUDA run under a deadline (or a test hook) launches its branches, and when it answers.
//
// Branches go in index order, branch b on stream b mod S (the plan's queued slot), but each
// only once the branch before it on that stream (b - S) has finished: no stream has more than
// one branch queued, so the host never runs ahead of the GPU. When the deadline passes, or the
// run is cancelled, nothing more is launched and the run answers at once, with the longest
// finished prefix; at most S launched branches are then still running, which the session's
// next run waits for before it reuses their buffers. So a deadline shortens a run to within
// about one branch's time of it. Host-side logic behind an interface: tested with a simulated
// GPU and no CUDA.
#pragma once

#include <cstdint>

#include "backend/backend.hpp"

namespace pfrt::cuda {

class BranchQueue {
 public:
  virtual ~BranchQueue() = default;
  virtual void launch(uint32_t branch) = 0;    // enqueue the branch on its stream
  virtual bool finished(uint32_t branch) = 0;  // a launched branch has completed on the GPU
  virtual void pause() = 0;                    // wait a little before looking again
  // The model's branch that launch `i` runs (what the RunControl's hook is told).
  virtual uint32_t branch(uint32_t i) const { return i; }
};

struct LaunchOutcome {
  core::StopReason stopped = core::StopReason::kNone;
  uint32_t launched = 0;  // branches 0..launched-1 were launched
  uint32_t prefix = 0;    // branches 0..prefix-1 had finished when the run answered
};

// Launches branches 0..branches-1 over `streams` streams as above; returns when all finished,
// or at once when `control` stops the run (its hook is called before each launch).
LaunchOutcome launch_branches(BranchQueue& queue, uint32_t branches, uint32_t streams, const core::RunControl& control);

// The branches a shard owns as a queue of their own: its i-th launch is the shard's i-th branch
// (plan::Shard::branch), so launch_branches runs a sharded session's branches in their order, the
// launcher's counts and prefixes then being of the shard's branches.
class ShardQueue final : public BranchQueue {
 public:
  ShardQueue(BranchQueue& branches, const plan::Shard& shard) : branches_(branches), shard_(shard) {}
  void launch(uint32_t i) override { branches_.launch(shard_.branch(i)); }
  bool finished(uint32_t i) override { return branches_.finished(shard_.branch(i)); }
  void pause() override { branches_.pause(); }
  uint32_t branch(uint32_t i) const override { return shard_.branch(i); }

 private:
  BranchQueue& branches_;
  plan::Shard shard_;
};

}  // namespace pfrt::cuda
