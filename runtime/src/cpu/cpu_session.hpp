// A cpu-backend session: XNNPACK operators with the model's weights packed once, branch slots
// (thread pools + arenas) sized by the planner, and the run: stem on every slot, branches as
// slot tasks in index order, then merge, pooling and head on the calling thread.
#pragma once

#include <sched.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "plan/thread_plan.hpp"
#include "cpu/session_state.hpp"
#include "cpu/slot_runner.hpp"

namespace pfrt::cpu {

class CpuSession final : public core::BackendSession {
 public:
  CpuSession(std::shared_ptr<const core::Model> model, const core::BackendOptions& options);
  ~CpuSession() override;

  core::RunStatus run(const core::RunRequest& request, const core::RunControl& control,
                      core::RunProfile& profile) override;
  std::string describe() const override { return description_; }

 private:
  void reserve(size_t batch);                 // arenas for batches up to `batch` (grows once)
  void layout(size_t batch);                  // one layout pass over every arena
  void stem(const core::RunRequest& request);
  void run_branches(const core::RunRequest& request, const core::RunControl& control, core::RunProfile& profile);
  void branch_loop(uint32_t slot, const core::RunRequest& request, const core::RunControl& control,
                   core::RunProfile& profile);
  void head(const core::RunRequest& request, uint32_t branches);
  void stop(core::StopReason why);

  std::shared_ptr<const core::Model> model_;
  plan::ThreadPlan plan_;
  bool pin_ = false;
  cpu_set_t cpus_;
  std::vector<Slot> slots_;
  std::unique_ptr<SlotRunner> runner_;
  std::vector<std::vector<BlockOps>> ops_;  // [branch][block]
  FullyConnected head_op_;
  std::string description_;

  Arena arena_;  // session-wide buffers, batch x ...
  size_t capacity_ = 0;
  float *patches_ = nullptr, *stem_out_ = nullptr, *x0_ = nullptr, *pooled_ = nullptr;
  float *merged_ = nullptr, *merged_normed_ = nullptr;

  // Per run: which branches finished, the next branch to launch, why the run stopped.
  std::vector<char> finished_;
  std::atomic<uint32_t> next_branch_{0};
  std::atomic<int> stopped_{0};
};

}  // namespace pfrt::cpu
