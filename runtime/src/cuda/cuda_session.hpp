// A session of the cuda backend: the execution plan (plan/execution_plan.hpp) run with cuBLAS
// and the kernels of kernels.hpp. The stem runs on the session's main stream; an event forks
// the branches onto up to S branch streams (the plan's slots: branch b on stream b mod S, each
// with its own cuBLAS handle and the plan's slot arena), each branch writes its pooled row,
// events join the streams back into the main stream, which merges the prefix and runs the head.
//
// Whole runs (no deadline, no test hook) go through CUDA graphs (graph_book.hpp): a warm-up
// run per (batch, prefix), then one capture (thread-local mode, so sessions on other threads
// are not disturbed), then replays. Cancellation is then seen before the launch and after
// the GPU finished: the granularity is the whole run.
// Runs with a deadline (or a branch hook) launch branch by branch, at most one branch queued per
// stream, checking the RunControl before each launch (branch_launcher.hpp); at a deadline the
// run answers at once with the branches whose events completed, and the few branches still
// running are waited for by the next run before it reuses their buffers.
//
// Creation, growth and destruction allocate or free while no other thread captures on the
// device, and every call leaves the caller's current device as it was (device_scope.hpp).
//
// A sharded session (CudaSessionOptions::shard) runs only its shard's branches, always branch
// by branch (the head waits for the other ranks, so no graph holds a whole run),
// and sums the merge of its branches over the ranks on the host (core::ShardLink::reduce).
//
// Buffers (the plan's arenas) are allocated for the largest batch seen (a larger batch plans
// again, reallocates and drops the graphs); a run in steady state allocates nothing. Input and logits go through pinned host
// buffers: mapped ones that kernels read and write directly on integrated GPUs (Jetson),
// staging buffers for asynchronous copies on discrete GPUs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "cuda/cuda_plan.hpp"
#include "cuda/cuda_resources.hpp"
#include "cuda/device_weights.hpp"
#include "cuda/graph_book.hpp"

namespace pfrt::cuda {

struct CudaSessionOptions {
  int device = 0;
  bool force_mapped = false;  // tests: mapped host input/output (Tegra's path) on a discrete GPU too
  uint32_t max_streams = kDefaultMaxStreams;
  size_t graph_slots = 4;  // (batch, prefix) keys whose graphs are kept
  plan::Shard shard;       // the branches this session runs (every one unless sharded)
};

class CudaSession final : public core::BackendSession {
 public:
  CudaSession(std::shared_ptr<const core::Model> model, const CudaSessionOptions& options);
  ~CudaSession() override;
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;

  core::RunStatus run(const core::RunRequest& request, const core::RunControl& control,
                      core::RunProfile& profile) override;
  std::string describe() const override;

  // How runs went so far (tests check graph capture and re-capture with these).
  struct Counters {
    uint64_t eager_runs = 0;  // warm-ups and branch-by-branch runs
    uint64_t graph_captures = 0;
    uint64_t graph_replays = 0;
    uint64_t reallocations = 0;     // buffers grown for a larger batch
    uint64_t capture_failures = 0;  // captures that failed (those runs went eagerly)
  };
  // Test hooks (white-box tests only).
  struct TestHooks {
    bool fail_capture = false;  // every capture fails as if another thread had synchronised the device
  };
  TestHooks& test_hooks() { return test_hooks_; }
  const Counters& counters() const { return counters_; }
  uint32_t branch_streams() const { return uint32_t(streams_.size()); }
  const plan::ExecutionPlan& plan() const { return plan_; }
  bool mapped_io() const { return mapped_; }
  const DeviceWeights& weights() const { return *weights_; }

 private:
  struct BranchStream;
  class StepwiseQueue;

  void reserve(size_t batch);   // allocate() for a larger batch, while no other thread captures
  void allocate(size_t batch);  // plan and buffers for batches up to `batch`
  void finish_in_flight();      // waits for branches an earlier run left running
  // Device-visible addresses of a run's memory, with the arena of branch stream `stream`.
  plan::Memory memory(uint32_t stream) const;
  // Enqueues one stage of the plan for `batch` images on `stream`.
  void enqueue_stage(const plan::Stage& stage, const plan::Memory& memory, size_t batch, uint32_t branch,
                     uint32_t prefix, cudaStream_t stream, cublasHandle_t blas);
  // Enqueues a whole run (stem, k branches, merge and head) on the streams; capturable.
  void enqueue_run(size_t batch, uint32_t k);
  void enqueue_stem(size_t batch);
  void enqueue_branch(uint32_t branch, size_t batch);
  // The head over the prefix 1..k; with `link`, the merge is summed over the ranks before the rest.
  void enqueue_head(size_t batch, uint32_t k, core::ShardLink* link = nullptr);
  void capture(size_t slot, size_t batch, uint32_t k);
  core::RunStatus run_whole(const core::RunRequest& r, const core::RunControl& control);
  core::RunStatus run_stepwise(const core::RunRequest& r, const core::RunControl& control);
  void fill_profile(core::RunProfile& profile, uint32_t branches, bool head) const;
  void record_timing(const Event& event, cudaStream_t stream);
  cudaStream_t branch_stream(uint32_t branch) const;

  std::shared_ptr<const core::Model> model_;
  int device_;
  std::string device_name_;
  int compute_major_ = 0, compute_minor_ = 0;
  bool integrated_ = false;
  bool mapped_ = false;  // input and logits in mapped host memory
  size_t max_batch_ = 0;
  std::shared_ptr<const DeviceWeights> weights_;

  Stream main_;
  std::unique_ptr<Blas> main_blas_;
  std::vector<std::unique_ptr<BranchStream>> streams_;
  std::vector<uint8_t> forked_;  // per stream: joined the run's fork already (reused per run)

  // Ordering events (no timing) and the profile's timing events.
  Event fork_;
  Event t_start_, t_stem_, t_join_, t_end_;
  std::vector<Event> t_branch_start_, t_branch_end_;

  // The plan and its buffers, for plan_.batch() images.
  uint32_t max_streams_ = kDefaultMaxStreams;
  plan::Shard shard_;
  plan::ExecutionPlan plan_;
  std::vector<float> merged_host_;  // a sharded run's merge, summed over the ranks on the host
  PinnedFloats input_host_, logits_host_;
  DeviceFloats input_dev_, logits_dev_;  // discrete GPUs only
  DeviceFloats session_arena_;

  GraphBook book_;
  std::vector<GraphExec> graphs_;  // one per book slot
  bool capturing_ = false;
  bool main_in_flight_ = false;  // a run answered before its stem finished
  Counters counters_;
  TestHooks test_hooks_;
};

}  // namespace pfrt::cuda
