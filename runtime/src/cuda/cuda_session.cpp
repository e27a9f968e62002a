#include "cuda/cuda_session.hpp"

#include <chrono>
#include <cstring>
#include <thread>

#include "cuda/kernels.hpp"
#include "cuda/linear.hpp"
#include "error.hpp"

#ifndef PFRT_CUDA_ARCHITECTURES
#define PFRT_CUDA_ARCHITECTURES "unknown"
#endif

namespace pfrt::cuda {

using core::RunStatus;
using core::StopReason;
using format::ModelConfig;

// One branch stream: its cuBLAS handle, the scratch its branches use in turn, and the event
// that joins it back into the main stream.
struct CudaSession::BranchStream {
  Stream stream = make_stream();
  Blas blas{stream.get()};
  Event join = make_event(false);
  DeviceFloats normed, qkv, attended, update, hidden;
};

CudaSession::CudaSession(std::shared_ptr<const core::Model> model, const CudaSessionOptions& options)
    : model_(std::move(model)), device_(options.device), book_(options.graph_slots) {
  const ModelConfig& c = model_->config();
  if (std::string why = unsupported_reason(c); !why.empty()) core::fail(PFRT_UNSUPPORTED, "cuda: " + why);
  check(cudaSetDevice(device_), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
  device_name_ = prop.name;
  compute_major_ = prop.major;
  compute_minor_ = prop.minor;
  integrated_ = prop.integrated != 0;
  mapped_ = integrated_ && prop.canMapHostMemory != 0;
  if (const cudaError_t e = kernels::probe(); e != cudaSuccess) {
    (void)cudaGetLastError();
    core::fail(PFRT_UNSUPPORTED, "cuda: " + device_name_ + " is sm_" + std::to_string(prop.major) +
                                     std::to_string(prop.minor) + " but this build has kernels for " +
                                     PFRT_CUDA_ARCHITECTURES + " (" + cuda_message(e, "kernel probe") +
                                     "); rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(prop.major) +
                                     std::to_string(prop.minor));
  }
  max_batch_ = max_batch(c);
  weights_ = shared_device_weights(model_, device_);

  main_ = make_stream();
  main_blas_ = std::make_unique<Blas>(main_.get());
  const uint32_t stream_count = branch_stream_count(options.max_streams, c.branches);
  for (uint32_t s = 0; s < stream_count; ++s) streams_.push_back(std::make_unique<BranchStream>());
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
  reserve(1);
}

CudaSession::~CudaSession() {
  // Nothing is in flight between runs; this only makes sure before memory is released.
  (void)cudaSetDevice(device_);
  if (main_) (void)cudaStreamSynchronize(main_.get());
  for (const auto& s : streams_) (void)cudaStreamSynchronize(s->stream.get());
}

std::string CudaSession::describe() const {
  const ModelConfig& c = model_->config();
  return "cuda: " + device_name_ + " (sm_" + std::to_string(compute_major_) + std::to_string(compute_minor_) +
         (integrated_ ? ", integrated" : ", discrete") + (mapped_ ? ", mapped host input/output" : ", pinned staging") +
         "), " + std::to_string(streams_.size()) + " branch streams for " + std::to_string(c.branches) +
         " branches, cuBLAS fp32 (no TF32), CUDA graphs after a warm-up";
}

cudaStream_t CudaSession::branch_stream(uint32_t branch) const {
  return streams_[stream_of_branch(branch, uint32_t(streams_.size()))]->stream.get();
}

void CudaSession::reserve(size_t batch) {
  if (batch <= capacity_) return;
  // The graphs point into the old buffers.
  book_.clear();
  for (GraphExec& g : graphs_) g.reset();
  const ModelConfig& c = model_->config();
  sizes_ = buffer_sizes(c, batch);
  capacity_ = 0;  // stays 0 if an allocation below fails
  input_host_ = PinnedFloats(sizes_.input, mapped_, "cudaHostAlloc(input)");
  logits_host_ = PinnedFloats(sizes_.logits, mapped_, "cudaHostAlloc(logits)");
  if (!mapped_) {
    input_dev_ = DeviceFloats(sizes_.input, "cudaMalloc(input)");
    logits_dev_ = DeviceFloats(sizes_.logits, "cudaMalloc(logits)");
  }
  patches_ = DeviceFloats(sizes_.patches, "cudaMalloc(patches)");
  projected_ = DeviceFloats(sizes_.projected, "cudaMalloc(patch embedding)");
  x0_ = DeviceFloats(sizes_.x0, "cudaMalloc(stem output)");
  branch_out_ = DeviceFloats(sizes_.branch_out * c.branches, "cudaMalloc(branch outputs)");
  merged_ = DeviceFloats(sizes_.merged, "cudaMalloc(merged)");
  pooled_ = DeviceFloats(sizes_.pooled, "cudaMalloc(pooled)");
  for (const auto& s : streams_) {
    s->normed = DeviceFloats(sizes_.normed, "cudaMalloc(branch scratch)");
    s->qkv = DeviceFloats(sizes_.qkv, "cudaMalloc(branch scratch)");
    s->attended = DeviceFloats(sizes_.attended, "cudaMalloc(branch scratch)");
    s->update = DeviceFloats(sizes_.update, "cudaMalloc(branch scratch)");
    s->hidden = DeviceFloats(sizes_.hidden, "cudaMalloc(branch scratch)");
  }
  capacity_ = batch;
  ++counters_.reallocations;
}

void CudaSession::record_timing(const Event& event, cudaStream_t stream) {
  // External: inside a capture the record becomes a graph node, so replays time themselves.
  check(cudaEventRecordWithFlags(event.get(), stream, capturing_ ? cudaEventRecordExternal : cudaEventRecordDefault),
        "cudaEventRecord(profile)");
}

void CudaSession::enqueue_stem(size_t batch) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = weights_->get();
  const cudaStream_t s = main_.get();
  const float* input = mapped_ ? input_host_.device() : input_dev_.get();
  if (!mapped_) {
    check(cudaMemcpyAsync(input_dev_.get(), input_host_.host(), batch * c.image_floats() * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync(input)");
  }
  kernels::gather_patches(input, batch, c.channels, c.image_size, c.patch_size, patches_.get(), s);
  linear(main_blas_->get(), patches_.get(), batch * c.patches(), c.patch_dim(), w.patch_weight, c.embed_dim,
         projected_.get());
  kernels::assemble_tokens(projected_.get(), w.patch_bias, w.cls_token, w.pos_embedding, batch, c.tokens(),
                           c.embed_dim, x0_.get(), s);
}

void CudaSession::enqueue_branch(uint32_t branch, size_t batch) {
  const ModelConfig& c = model_->config();
  BranchStream& bs = *streams_[stream_of_branch(branch, uint32_t(streams_.size()))];
  const cudaStream_t s = bs.stream.get();
  const cublasHandle_t blas = bs.blas.get();
  const size_t rows = batch * c.tokens(), d = c.embed_dim, inner = c.inner_dim();
  const bool prenorm = c.residual == format::Residual::kPreNorm;
  float* z = branch_out_.get() + branch * sizes_.branch_out;
  const float* source = x0_.get();  // the first block reads the stem's output in place
  for (const core::BlockWeights& bw : weights_->get().branches[branch]) {
    // Attention layer. Authors' form: z = LN(z) + f(LN(z)); pre-norm: z = z + f(LN(z)).
    kernels::layer_norm(source, rows, d, bw.attn_norm_weight, bw.attn_norm_bias, c.layernorm_eps, bs.normed.get(), s);
    linear(blas, bs.normed.get(), rows, d, bw.qkv_weight, 3 * inner, bs.qkv.get());
    kernels::attention(bs.qkv.get(), batch, c.tokens(), c.heads, c.head_dim, bs.attended.get(), s);
    const float* base = prenorm ? source : bs.normed.get();
    if (bw.out_weight != nullptr) {
      linear(blas, bs.attended.get(), rows, inner, bw.out_weight, d, bs.update.get());
      kernels::residual(z, base, bs.update.get(), bw.out_bias, rows, d, s);
    } else {  // one head spanning the width: no projection
      kernels::residual(z, base, bs.attended.get(), nullptr, rows, d, s);
    }
    // MLP layer.
    kernels::layer_norm(z, rows, d, bw.mlp_norm_weight, bw.mlp_norm_bias, c.layernorm_eps, bs.normed.get(), s);
    linear(blas, bs.normed.get(), rows, d, bw.fc1_weight, c.mlp_dim, bs.hidden.get());
    kernels::bias_gelu(bs.hidden.get(), bw.fc1_bias, rows, c.mlp_dim, c.gelu, s);
    linear(blas, bs.hidden.get(), rows, c.mlp_dim, bw.fc2_weight, d, bs.update.get());
    kernels::residual(z, prenorm ? z : bs.normed.get(), bs.update.get(), bw.fc2_bias, rows, d, s);
    source = z;
  }
}

void CudaSession::enqueue_head(size_t batch, uint32_t k) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = weights_->get();
  const cudaStream_t s = main_.get();
  float* logits = mapped_ ? logits_host_.device() : logits_dev_.get();
  kernels::merge_branches(branch_out_.get(), sizes_.branch_out, k, weights_->merge_weights(),
                          batch * c.tokens() * c.embed_dim, merged_.get(), s);
  kernels::pool(merged_.get(), batch, c.tokens(), c.embed_dim, c.pooling, pooled_.get(), s);
  kernels::layer_norm(pooled_.get(), batch, c.embed_dim, w.head_norm_weight, w.head_norm_bias, c.layernorm_eps,
                      pooled_.get(), s);
  linear(main_blas_->get(), pooled_.get(), batch, c.embed_dim, w.head_weight, c.classes, logits);
  kernels::add_bias(logits, w.head_bias, batch, c.classes, s);
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
    case GraphBook::Step::kCapture:
      capture(d.slot, r.batch, r.branches);
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

StopReason CudaSession::wait_for_branches(uint32_t launched, const core::RunControl& control) {
  for (uint32_t b = 0; b < launched;) {
    const cudaError_t state = cudaEventQuery(t_branch_end_[b].get());
    if (state == cudaSuccess) {
      ++b;
      continue;
    }
    if (state != cudaErrorNotReady) throw_cuda(state, "cudaEventQuery(branch)");
    (void)cudaGetLastError();  // cudaErrorNotReady is not sticky, but keep the thread's error clean
    if (const StopReason why = control.check(); why != StopReason::kNone) return why;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return StopReason::kNone;
}

uint32_t CudaSession::finished_prefix(uint32_t launched) {
  uint32_t b = 0;
  while (b < launched && cudaEventQuery(t_branch_end_[b].get()) == cudaSuccess) ++b;
  (void)cudaGetLastError();
  return b;
}

RunStatus CudaSession::run_stepwise(const core::RunRequest& r, const core::RunControl& control) {
  ++counters_.eager_runs;
  const cudaStream_t main = main_.get();
  record_timing(t_start_, main);
  enqueue_stem(r.batch);
  record_timing(t_stem_, main);
  check(cudaEventRecord(fork_.get(), main), "cudaEventRecord(fork)");
  std::fill(forked_.begin(), forked_.end(), uint8_t{0});

  StopReason stop = StopReason::kNone;
  uint32_t launched = 0;
  for (uint32_t b = 0; b < r.branches; ++b) {
    const uint32_t s = stream_of_branch(b, uint32_t(streams_.size()));
    if (!forked_[s]) {
      check(cudaStreamWaitEvent(streams_[s]->stream.get(), fork_.get(), 0), "cudaStreamWaitEvent(fork)");
      forked_[s] = 1;
    }
    // Recorded before the hook, so time the host spends before the launch counts for the branch.
    record_timing(t_branch_start_[b], streams_[s]->stream.get());
    control.branch_started(b);
    if ((stop = control.check()) != StopReason::kNone) break;
    enqueue_branch(b, r.batch);
    record_timing(t_branch_end_[b], streams_[s]->stream.get());
    launched = b + 1;
  }
  if (stop == StopReason::kNone) stop = wait_for_branches(launched, control);
  const uint32_t finished = stop == StopReason::kNone ? launched : finished_prefix(launched);
  // Launched work cannot be recalled: it finishes before the buffers are used again.
  for (uint32_t s = 0; s < streams_.size(); ++s) {
    if (forked_[s]) check(cudaStreamSynchronize(streams_[s]->stream.get()), "cudaStreamSynchronize(branch)");
  }
  uint32_t used = 0;
  if (stop == StopReason::kNone) {
    used = r.branches;
  } else if (stop == StopReason::kDeadline && control.best_prefix_on_deadline) {
    used = finished;
  }
  if (used == 0) {
    check(cudaStreamSynchronize(main), "cudaStreamSynchronize(stem)");
    return {stop, 0};
  }
  record_timing(t_join_, main);  // the branch streams are idle: the host waited for them
  enqueue_head(r.batch, used);
  record_timing(t_end_, main);
  check(cudaStreamSynchronize(main), "cudaStreamSynchronize(head)");
  return {stop, used};
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
  for (uint32_t b = 0; b < branches; ++b) profile.branch_ms[b] += event_ms(t_branch_start_[b], t_branch_end_[b]);
  if (head) {
    profile.branches_ms += event_ms(t_stem_, t_join_);
    profile.head_ms += event_ms(t_join_, t_end_);
  }
}

RunStatus CudaSession::run(const core::RunRequest& r, const core::RunControl& control, core::RunProfile& profile) {
  const ModelConfig& c = model_->config();
  if (r.batch > max_batch_) {
    core::fail(PFRT_INVALID_ARGUMENT, "batch of " + std::to_string(r.batch) + " images: the cuda backend runs at most " +
                                          std::to_string(max_batch_) + " at once for this model");
  }
  check(cudaSetDevice(device_), "cudaSetDevice");
  reserve(r.batch);
  std::memcpy(input_host_.host(), r.input, r.batch * c.image_floats() * sizeof(float));

  const bool stepwise = control.deadline != core::Clock::time_point::max() || control.on_branch_start != nullptr;
  const RunStatus status = stepwise ? run_stepwise(r, control) : run_whole(r, control);
  if (status.branches_used > 0) {
    std::memcpy(r.logits, logits_host_.host(), r.batch * c.classes * sizeof(float));
    fill_profile(profile, status.branches_used, true);
  }
  return status;
}

}  // namespace pfrt::cuda
