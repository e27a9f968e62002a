#include "cuda/cuda_session.hpp"

#include <mutex>
#include <shared_mutex>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "cuda/branch_launcher.hpp"
#include "cuda/device_scope.hpp"
#include "cuda/kernels.hpp"
#include "cuda/linear.hpp"
#include "error.hpp"
#include "plan/prefix_rule.hpp"

#ifndef PFRT_CUDA_ARCHITECTURES
#define PFRT_CUDA_ARCHITECTURES "unknown"
#endif

namespace pfrt::cuda {

using core::RunStatus;
using core::StopReason;
using format::ModelConfig;

// One branch stream (a slot of the plan): its cuBLAS handle, the slot arena its branches use
// in turn, and the event that joins it back into the main stream.
struct CudaSession::BranchStream {
  explicit BranchStream(size_t workspace_bytes) : blas(stream.get(), workspace_bytes) {}
  Stream stream = make_stream();
  Blas blas;
  Event join = make_event(false);
  DeviceFloats arena;
  bool in_flight = false;  // a branch launched by a run that answered before it finished
};

CudaSession::CudaSession(std::shared_ptr<const core::Model> model, const CudaSessionOptions& options)
    : model_(std::move(model)),
      device_(options.device),
      max_streams_(options.max_streams),
      shard_(options.shard),
      book_(options.graph_slots) {
  const ModelConfig& c = model_->config();
  if (std::string why = unsupported_reason(c); !why.empty()) core::fail(PFRT_UNSUPPORTED, "cuda: " + why);
  const ScopedDevice on_device(device_);
  const std::unique_lock<std::shared_mutex> no_capture(capture_lock(device_));  // allocates
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
  device_name_ = prop.name;
  compute_major_ = prop.major;
  compute_minor_ = prop.minor;
  integrated_ = prop.integrated != 0;
  mapped_ = (integrated_ || options.force_mapped) && prop.canMapHostMemory != 0;
  DeviceProbe probe;
  probe.count = 1;
  probe.kernel_error = kernels::probe();
  probe.name = device_name_;
  probe.major = prop.major;
  probe.minor = prop.minor;
  (void)cudaGetLastError();
  if (std::string why = unavailable_reason(probe, PFRT_CUDA_ARCHITECTURES); !why.empty()) {
    core::fail(PFRT_UNSUPPORTED, "cuda: " + why);
  }
  max_batch_ = max_batch(c);
  weights_ = shared_device_weights(model_, device_);

  main_ = make_stream();
  const size_t workspace = blas_workspace_bytes(compute_major_);
  main_blas_ = std::make_unique<Blas>(main_.get(), workspace);
  const uint32_t stream_count = session_plan(c, 1, max_streams_, shard_).slots();
  for (uint32_t s = 0; s < stream_count; ++s) streams_.push_back(std::make_unique<BranchStream>(workspace));
  forked_.assign(stream_count, 0);

  fork_ = make_event(false);
  t_start_ = make_event(true);
  t_stem_ = make_event(true);
  t_join_ = make_event(true);
  t_end_ = make_event(true);
  for (uint32_t b = 0; b < c.branches; ++b) {
    t_branch_start_.push_back(make_event(true));
    t_branch_end_.push_back(make_event(true));
  }
  graphs_.resize(book_.slots());
  allocate(1);
}

CudaSession::~CudaSession() {
  // Branches a deadline left running, then every buffer, handle and stream, released while no
  // other thread captures on the device.
  try {
    const ScopedDevice on_device(device_);
    const std::unique_lock<std::shared_mutex> no_capture(capture_lock(device_));
    if (main_) (void)cudaStreamSynchronize(main_.get());
    for (const auto& s : streams_) (void)cudaStreamSynchronize(s->stream.get());
    graphs_.clear();
    streams_.clear();
    main_blas_.reset();
    weights_.reset();
    input_dev_ = DeviceFloats();
    logits_dev_ = DeviceFloats();
    session_arena_ = DeviceFloats();
    input_host_ = PinnedFloats();
    logits_host_ = PinnedFloats();
  } catch (...) {  // the device could not be made current: release as the members go
  }
}

std::string CudaSession::describe() const {
  const ModelConfig& c = model_->config();
  return "cuda: " + device_name_ + " (sm_" + std::to_string(compute_major_) + std::to_string(compute_minor_) +
         (integrated_ ? ", integrated" : ", discrete") + (mapped_ ? ", mapped host input/output" : ", pinned staging") +
         "), " + std::to_string(streams_.size()) + " branch streams for " + std::to_string(c.branches) + " branches, " +
         cuda::describe(gemm_path(plan_.quantization().precision)) + ", CUDA graphs after a warm-up, kernels for " +
         PFRT_CUDA_ARCHITECTURES + "; " + plan_.describe();
}

cudaStream_t CudaSession::branch_stream(uint32_t branch) const {
  return streams_[plan_.queued_slot(branch)]->stream.get();
}

void CudaSession::reserve(size_t batch) {
  if (batch <= plan_.batch()) return;
  const std::unique_lock<std::shared_mutex> no_capture(capture_lock(device_));
  allocate(batch);
}

void CudaSession::allocate(size_t batch) {
  // The graphs point into the old buffers.
  book_.clear();
  for (GraphExec& g : graphs_) g.reset();
  const ModelConfig& c = model_->config();
  plan::ExecutionPlan grown = session_plan(c, batch, max_streams_, shard_);
  plan_ = plan::ExecutionPlan();  // batch 0 (nothing usable) if an allocation below fails
  input_host_ = PinnedFloats(batch * c.image_floats(), mapped_, "cudaHostAlloc(input)");
  logits_host_ = PinnedFloats(batch * c.classes, mapped_, "cudaHostAlloc(logits)");
  if (!mapped_) {
    input_dev_ = DeviceFloats(batch * c.image_floats(), "cudaMalloc(input)");
    logits_dev_ = DeviceFloats(batch * c.classes, "cudaMalloc(logits)");
  }
  session_arena_ = DeviceFloats(grown.arena_floats(plan::Arena::kSession), "cudaMalloc(session buffers)");
  for (const auto& s : streams_) {
    s->arena = DeviceFloats(grown.arena_floats(plan::Arena::kSlot), "cudaMalloc(branch buffers)");
  }
  plan_ = std::move(grown);
  ++counters_.reallocations;
}

plan::Memory CudaSession::memory(uint32_t stream) const {
  plan::Memory m;
  m.input = mapped_ ? input_host_.device() : input_dev_.get();
  m.logits = mapped_ ? logits_host_.device() : logits_dev_.get();
  m.session = session_arena_.get();
  m.slot = streams_[stream]->arena.get();
  return m;
}

void CudaSession::record_timing(const Event& event, cudaStream_t stream) {
  // External: inside a capture the record becomes a graph node, so replays time themselves.
  check(cudaEventRecordWithFlags(event.get(), stream, capturing_ ? cudaEventRecordExternal : cudaEventRecordDefault),
        "cudaEventRecord(profile)");
}

void CudaSession::enqueue_stage(const plan::Stage& s, const plan::Memory& m, size_t n, uint32_t branch, uint32_t prefix,
                                cudaStream_t stream, cublasHandle_t blas) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = weights_->get();
  const float* in = plan::locate(plan_, m, s.in, branch);
  float* out = plan::locate(plan_, m, s.out, branch);
  const float* aux = s.has_aux ? plan::locate(plan_, m, s.aux, branch) : nullptr;
  const size_t rows = n * s.in.rows;  // of the uniform matrices GEMMs and adds read (View::uniform)
  switch (s.op) {
    case plan::Op::kGatherPatches:
      kernels::gather_patches(in, n, c.channels, c.image_size, c.patch_size, out, stream);
      break;
    case plan::Op::kLinear:  // in the model's precision (gemm_precision.hpp)
      enqueue_linear_stage(plan_, s, m, rows, branch, *weights_, stream, blas);
      break;
    case plan::Op::kAssembleTokens:
      kernels::assemble_tokens(in, nullptr, plan::resolve(w, s.cls, branch), plan::resolve(w, s.pos, branch), n,
                               s.out.rows, s.out.cols, out, stream);
      break;
    case plan::Op::kLayerNorm:  // dense rows (the plan's tests check)
      kernels::layer_norm(in, rows, s.in.cols, plan::resolve(w, s.gamma, branch), plan::resolve(w, s.beta, branch),
                          c.layernorm_eps, out, stream);
      break;
    case plan::Op::kAttention: {
      const kernels::AttentionOperands o{
          in,  s.in.row_stride,  s.in.image_stride, aux, aux + c.inner_dim(), s.aux.row_stride, s.aux.image_stride,
          out, s.out.row_stride, s.out.image_stride};
      kernels::attention(o, n, s.in.rows, s.aux.rows, c.heads, c.head_dim, stream);
      break;
    }
    case plan::Op::kAdd:
      kernels::add_rows(in, s.in.matrix_stride(), aux, s.aux.matrix_stride(), out, s.out.matrix_stride(), rows,
                        s.out.cols, stream);
      break;
    case plan::Op::kMeanRows:  // dense rows into the branch's dense pooled slice
      kernels::pool(in, n, s.in.rows, s.in.cols, format::Pooling::kMean, out, stream);
      break;
    case plan::Op::kMerge:  // the pooled slices of this shard's branches of 0..prefix-1, each n x D dense
      kernels::merge_branches(plan::locate(plan_, m, s.in, 0), s.in.branch_stride, shard_.rank, shard_.ranks, prefix,
                              weights_->merge_weights(), n * s.out.cols, out, stream);
      break;
  }
}

void CudaSession::enqueue_stem(size_t batch) {
  const ModelConfig& c = model_->config();
  const cudaStream_t s = main_.get();
  if (!mapped_) {
    check(cudaMemcpyAsync(input_dev_.get(), input_host_.host(), batch * c.image_floats() * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync(input)");
  }
  const plan::Memory m = memory(0);
  for (const plan::Stage& stage : plan_.stem()) enqueue_stage(stage, m, batch, 0, 0, s, main_blas_->get());
}

void CudaSession::enqueue_branch(uint32_t branch, size_t batch) {
  const uint32_t slot = plan_.queued_slot(branch);
  BranchStream& bs = *streams_[slot];
  const plan::Memory m = memory(slot);
  for (const plan::Stage& stage : plan_.branch()) {
    enqueue_stage(stage, m, batch, branch, 0, bs.stream.get(), bs.blas.get());
  }
}

void CudaSession::enqueue_head(size_t batch, uint32_t k, core::ShardLink* link) {
  const ModelConfig& c = model_->config();
  const cudaStream_t s = main_.get();
  const plan::Memory m = memory(0);
  for (const plan::Stage& stage : plan_.head()) {
    enqueue_stage(stage, m, batch, 0, k, s, main_blas_->get());
    if (stage.op != plan::Op::kMerge || link == nullptr) continue;
    // This rank's share of the merge, summed over the ranks on the host, back where it was.
    float* merged = plan::locate(plan_, m, stage.out);
    const size_t floats = batch * stage.out.cols;
    merged_host_.resize(std::max(merged_host_.size(), floats));  // grows once per larger batch
    check(cudaMemcpyAsync(merged_host_.data(), merged, floats * sizeof(float), cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync(merge to the host)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize(merge)");
    link->reduce(merged_host_.data(), floats);
    check(cudaMemcpyAsync(merged, merged_host_.data(), floats * sizeof(float), cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync(merge from the host)");
  }
  if (!mapped_) {
    check(cudaMemcpyAsync(logits_host_.host(), logits_dev_.get(), batch * c.classes * sizeof(float),
                          cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync(logits)");
  }
}

void CudaSession::enqueue_run(size_t batch, uint32_t k) {
  const cudaStream_t main = main_.get();
  record_timing(t_start_, main);
  enqueue_stem(batch);
  record_timing(t_stem_, main);
  check(cudaEventRecord(fork_.get(), main), "cudaEventRecord(fork)");
  const uint32_t used_streams = std::min<uint32_t>(k, uint32_t(streams_.size()));
  for (uint32_t s = 0; s < used_streams; ++s) {
    check(cudaStreamWaitEvent(streams_[s]->stream.get(), fork_.get(), 0), "cudaStreamWaitEvent(fork)");
  }
  for (uint32_t b = 0; b < k; ++b) {
    record_timing(t_branch_start_[b], branch_stream(b));
    enqueue_branch(b, batch);
    record_timing(t_branch_end_[b], branch_stream(b));
  }
  for (uint32_t s = 0; s < used_streams; ++s) {
    check(cudaEventRecord(streams_[s]->join.get(), streams_[s]->stream.get()), "cudaEventRecord(join)");
    check(cudaStreamWaitEvent(main, streams_[s]->join.get(), 0), "cudaStreamWaitEvent(join)");
  }
  record_timing(t_join_, main);
  enqueue_head(batch, k);
  record_timing(t_end_, main);
}

void CudaSession::capture(size_t slot, size_t batch, uint32_t k) {
  const cudaStream_t main = main_.get();
  // No other thread allocates or frees on the device meanwhile (device_scope.hpp).
  const std::shared_lock<std::shared_mutex> capturing(capture_lock(device_));
  if (test_hooks_.fail_capture) {
    book_.capture_failed(slot);
    throw_cuda(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture (a capture failure injected by a test)");
  }
  check(cudaStreamBeginCapture(main, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  capturing_ = true;
  cudaGraph_t raw = nullptr;
  try {
    enqueue_run(batch, k);
  } catch (...) {
    capturing_ = false;
    (void)cudaStreamEndCapture(main, &raw);
    Graph discard(raw);
    (void)cudaGetLastError();
    book_.capture_failed(slot);
    throw;
  }
  capturing_ = false;
  const cudaError_t ended = cudaStreamEndCapture(main, &raw);
  Graph graph(raw);
  if (ended != cudaSuccess) {
    book_.capture_failed(slot);
    throw_cuda(ended, "cudaStreamEndCapture");
  }
  cudaGraphExec_t exec = nullptr;
  if (const cudaError_t e = cudaGraphInstantiateWithFlags(&exec, graph.get(), 0); e != cudaSuccess) {
    book_.capture_failed(slot);
    throw_cuda(e, "cudaGraphInstantiateWithFlags");
  }
  graphs_[slot] = GraphExec(exec);
}

RunStatus CudaSession::run_whole(const core::RunRequest& r, const core::RunControl& control) {
  if (const StopReason why = control.check(); why != StopReason::kNone) return {why, 0};
  const GraphBook::Decision d = book_.decide({r.batch, r.branches});
  if (d.evict) graphs_[d.slot].reset();
  switch (d.step) {
    case GraphBook::Step::kWarmUp:
      enqueue_run(r.batch, r.branches);
      ++counters_.eager_runs;
      break;
    case GraphBook::Step::kCapture: try { capture(d.slot, r.batch, r.branches);
      } catch (const core::Error&) {
        // A capture can fail for reasons outside this session (another library synchronising
        // the device): the key warms up again next time, and this run goes eagerly.
        (void)cudaGetLastError();
        ++counters_.capture_failures;
        enqueue_run(r.batch, r.branches);
        ++counters_.eager_runs;
        break;
      }
      check(cudaGraphLaunch(graphs_[d.slot].get(), main_.get()), "cudaGraphLaunch");
      ++counters_.graph_captures;
      break;
    case GraphBook::Step::kReplay:
      check(cudaGraphLaunch(graphs_[d.slot].get(), main_.get()), "cudaGraphLaunch");
      ++counters_.graph_replays;
      break;
  }
  check(cudaStreamSynchronize(main_.get()), "cudaStreamSynchronize(run)");
  if (control.check() == StopReason::kCancelled) return {StopReason::kCancelled, 0};
  return {StopReason::kNone, r.branches};
}

// The branches of a stepwise run as launch_branches sees them: each launch forks its stream
// from the stem (once per run) and records the branch's timing events around its stages.
class CudaSession::StepwiseQueue final : public BranchQueue {
 public:
  StepwiseQueue(CudaSession& session, size_t batch) : s_(session), batch_(batch) {
    std::fill(s_.forked_.begin(), s_.forked_.end(), uint8_t{0});
  }
  void launch(uint32_t b) override {
    const uint32_t slot = s_.plan_.queued_slot(b);
    BranchStream& stream = *s_.streams_[slot];
    if (!s_.forked_[slot]) {
      check(cudaStreamWaitEvent(stream.stream.get(), s_.fork_.get(), 0), "cudaStreamWaitEvent(fork)");
      s_.forked_[slot] = 1;
    }
    s_.record_timing(s_.t_branch_start_[b], stream.stream.get());
    s_.enqueue_branch(b, batch_);
    s_.record_timing(s_.t_branch_end_[b], stream.stream.get());
    stream.in_flight = true;
  }
  bool finished(uint32_t b) override {
    const cudaError_t state = cudaEventQuery(s_.t_branch_end_[b].get());
    if (state == cudaSuccess) return true;
    if (state != cudaErrorNotReady) throw_cuda(state, "cudaEventQuery(branch)");
    (void)cudaGetLastError();  // cudaErrorNotReady is not sticky, but keep the thread's error clean
    return false;
  }
  void pause() override { std::this_thread::sleep_for(std::chrono::microseconds(20)); }

 private:
  CudaSession& s_;
  size_t batch_;
};

void CudaSession::finish_in_flight() {
  if (main_in_flight_) {  // a stem that a run answering early left behind (it reads input_host_)
    check(cudaStreamSynchronize(main_.get()), "cudaStreamSynchronize(stem of the last run)");
    main_in_flight_ = false;
  }
  for (const auto& s : streams_) {
    if (!s->in_flight) continue;
    check(cudaStreamSynchronize(s->stream.get()), "cudaStreamSynchronize(branches of the last run)");
    s->in_flight = false;
  }
}

// Branch by branch (launch_branches): this shard's branches (every one unless sharded), the
// prefix settled (with the other ranks when sharded: ShardLink::agree), then the head over it
// (its merge summed over the ranks when sharded). Every branch of the prefix that this session
// owns has finished by then; branches still running write others, and the next run waits for
// them (finish_in_flight).
RunStatus CudaSession::run_stepwise(const core::RunRequest& r, const core::RunControl& control) {
  ++counters_.eager_runs;
  const cudaStream_t main = main_.get();
  record_timing(t_start_, main);
  enqueue_stem(r.batch);
  record_timing(t_stem_, main);
  check(cudaEventRecord(fork_.get(), main), "cudaEventRecord(fork)");

  main_in_flight_ = true;  // until the head's synchronisation: an early answer or an error leaves it running

  StepwiseQueue branches(*this, r.batch);
  ShardQueue owned(branches, shard_);
  const LaunchOutcome out = launch_branches(owned, shard_.owned_below(r.branches), uint32_t(streams_.size()), control);
  if (out.prefix == out.launched) {  // nothing left running on the branch streams
    for (const auto& s : streams_) s->in_flight = false;
  }
  const RunStatus status = plan::settle(control, out.stopped, shard_.finished_prefix(out.prefix, r.branches), r);
  if (status.branches_used == 0) return status;
  for (uint32_t i = 0; i < shard_.owned_below(status.branches_used); ++i) {
    check(cudaStreamWaitEvent(main, t_branch_end_[shard_.branch(i)].get(), 0), "cudaStreamWaitEvent(branch)");
  }
  record_timing(t_join_, main);
  enqueue_head(r.batch, status.branches_used, control.shard);
  record_timing(t_end_, main);
  check(cudaStreamSynchronize(main), "cudaStreamSynchronize(head)");
  main_in_flight_ = false;
  return status;
}

namespace {

double event_ms(const Event& from, const Event& to) {
  float ms = 0.0f;
  check(cudaEventElapsedTime(&ms, from.get(), to.get()), "cudaEventElapsedTime");
  return double(ms);
}

}  // namespace

void CudaSession::fill_profile(core::RunProfile& profile, uint32_t branches, bool head) const {
  profile.stem_ms += event_ms(t_start_, t_stem_);
  for (uint32_t i = 0; i < shard_.owned_below(branches); ++i) {
    const uint32_t b = shard_.branch(i);
    profile.branch_ms[b] += event_ms(t_branch_start_[b], t_branch_end_[b]);
  }
  if (head) {
    profile.branches_ms += event_ms(t_stem_, t_join_);
    profile.head_ms += event_ms(t_join_, t_end_);
  }
}

RunStatus CudaSession::run(const core::RunRequest& r, const core::RunControl& control, core::RunProfile& profile) {
  const ModelConfig& c = model_->config();
  if (r.batch > max_batch_) {
    core::fail(PFRT_INVALID_ARGUMENT, "batch of " + std::to_string(r.batch) +
                                          " images: the cuda backend runs at most " + std::to_string(max_batch_) +
                                          " at once for this model");
  }
  const ScopedDevice on_device(device_);
  (void)cudaGetLastError();  // an error left on this thread by an earlier call is not this run's
  finish_in_flight();
  reserve(r.batch);
  std::memcpy(input_host_.host(), r.input, r.batch * c.image_floats() * sizeof(float));

  // A sharded run goes branch by branch too: its head waits for the other ranks.
  const bool stepwise = control.deadline != core::Clock::time_point::max() || control.on_branch_start != nullptr ||
                        control.shard != nullptr;
  const RunStatus status = stepwise ? run_stepwise(r, control) : run_whole(r, control);
  if (status.branches_used > 0) {
    std::memcpy(r.logits, logits_host_.host(), r.batch * c.classes * sizeof(float));
    fill_profile(profile, status.branches_used, true);
  }
  return status;
}

}  // namespace pfrt::cuda
