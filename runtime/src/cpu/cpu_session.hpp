// A cpu-backend session: the execution plan run on branch slots. Each slot is one thread of a
// oneTBB arena (the caller's included) plus a team of helpers (worker_team.hpp) when the
// session has more threads than branches; each slot has the plan's slot arena. A run: the stem
// split over the slots, branches taken in index order by whichever slot is free, then merge
// and head on the calling thread. The GEMM weights are packed once per model and shared.
// While other processes take the cores, runs use fewer of the session's threads
// (thread_governor.hpp): the split of plan_threads for that many, on the same slots.
#pragma once

#include <sched.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "cpu/arena.hpp"
#include "cpu/packed_model.hpp"
#include "cpu/slot_runner.hpp"
#include "cpu/stage_runner.hpp"
#include "cpu/thread_governor.hpp"
#include "cpu/worker_team.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cpu {

class CpuSession final : public core::BackendSession {
 public:
  CpuSession(std::shared_ptr<const core::Model> model, const core::BackendOptions& options);
  ~CpuSession() override;

  core::RunStatus run(const core::RunRequest& request, const core::RunControl& control,
                      core::RunProfile& profile) override;
  std::string describe() const override;

  const plan::ExecutionPlan& plan() const { return plan_; }
  // Bytes of the packed weights (shared with the model's other sessions) and of this
  // session's own activation arenas.
  size_t packed_bytes() const { return packed_->bytes(); }
  size_t arena_bytes() const;
  const ThreadGovernor& governor() const { return governor_; }

 private:
  struct Slot {
    std::unique_ptr<WorkerTeam> team;
    Arena arena;
    // This run's stage times and operations by plan::StageKind (summed into the profile).
    std::array<double, core::kProfiledStageKinds> stage_ms{};
    std::array<uint64_t, core::kProfiledStageKinds> stage_flops{};
  };
  // Runs stage `s` on slot `slot`, adding its time and operations to the slot's.
  void timed_stage(const plan::Stage& s, const plan::Memory& memory, size_t batch, uint32_t branch, uint32_t prefix,
                   uint32_t slot);

  void reserve(size_t batch);  // plan and arenas for batches up to `batch` (grows once)
  plan::Memory memory(const core::RunRequest& request, uint32_t slot);
  // Runs fn(slot) for the first `count` of the slots in use, at once; returns whether one of
  // them took far longer than the quickest (its thread was preempted: equal work, unequal time).
  template <class F>
  bool on_slots(uint32_t count, const F& fn);
  bool stem(const core::RunRequest& request, uint32_t slots);
  void branch_loop(uint32_t slot, const core::RunRequest& request, const core::RunControl& control,
                   core::RunProfile& profile);
  void stop(core::StopReason why);

  std::shared_ptr<const core::Model> model_;
  core::BackendOptions options_;
  bool pin_ = false;
  cpu_set_t cpus_;
  plan::ExecutionPlan plan_;
  std::shared_ptr<const PackedModel> packed_;
  std::unique_ptr<StageRunner> stages_;
  std::vector<Slot> slots_;
  std::unique_ptr<SlotRunner> runner_;
  Arena session_arena_;
  ThreadGovernor governor_;
  std::vector<double> slot_ms_;           // per slot: its share's time in the last on_slots()
  std::vector<double> stem_quantize_ms_;  // per slot: of its stem share, the int8 quantisation

  // Per run: which branches finished, the next branch to launch, why the run stopped.
  std::vector<char> finished_;
  std::atomic<uint32_t> next_branch_{0};
  std::atomic<int> stopped_{0};
};

}  // namespace pfrt::cpu
