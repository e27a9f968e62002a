#include "cpu/cpu_session.hpp"

#include <algorithm>

#include "cpu/affinity.hpp"
#include "cpu/kernels/kernels.hpp"
#include "error.hpp"
#include "session/session.hpp"

namespace pfrt::cpu {

using core::Clock;
using core::StopReason;
using format::ModelConfig;

CpuSession::CpuSession(std::shared_ptr<const core::Model> model, const core::BackendOptions& options)
    : model_(std::move(model)) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = model_->weights();
  if (const std::string& why = xnnpack_init_error(); !why.empty()) core::fail(PFRT_BACKEND_ERROR, "cpu backend: " + why);
  plan_ = plan::plan_threads(options.threads, c.branches);
  CPU_ZERO(&cpus_);
  if (options.affinity_mask != 0) {
    cpus_ = usable_cpus(options.affinity_mask);
    pin_ = true;
  }

  slots_.resize(plan_.slots());
  for (uint32_t s = 0; s < plan_.slots(); ++s) slots_[s].threads = plan_.slot_threads[s];
  {
    ScopedAffinity pinned(pin_, cpus_);  // pool workers inherit the creating thread's CPUs
    for (uint32_t s = 0; s < plan_.slots(); ++s) {
      if (plan_.slot_threads[s] > 1) {
        slots_[s].pool.reset(pthreadpool_create(plan_.slot_threads[s]));
        if (!slots_[s].pool) core::fail(PFRT_BACKEND_ERROR, "cpu backend: cannot create a thread pool");
      }
    }
  }
  runner_ = std::make_unique<SlotRunner>(plan_.slots(), pin_, cpus_);

  // Pool workers spin between operators, which is right while they have cores to themselves;
  // with more threads than cores they would steal time from the threads doing the work, so
  // then they sleep after every operator instead.
  const bool yield = plan_.threads > core::online_cores();
  const size_t d = c.embed_dim, inner = c.inner_dim();
  for (Slot& slot : slots_) {
    slot.stem = FullyConnected(c.patch_dim(), d, d, w.patch_weight, w.patch_bias, "the patch embedding", yield);
    slot.pool_flags = yield ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0;
  }
  ops_.resize(c.branches);
  for (uint32_t b = 0; b < c.branches; ++b) {
    for (uint32_t j = 0; j < c.blocks_per_branch; ++j) {
      const core::BlockWeights& bw = w.branches[b][j];
      const std::string where = "branch " + std::to_string(b) + " block " + std::to_string(j);
      BlockOps ops;
      if (j + 1 == c.blocks_per_branch && c.pooling == format::Pooling::kCls) {
        // Rows [inner, 3 inner) of the QKV weight are K and V; the query reads row 0 per image.
        ops.kv = FullyConnected(d, 2 * inner, 2 * inner, bw.qkv_weight + inner * d, nullptr, where + " kv", yield);
        ops.q = FullyConnected(d, inner, inner, bw.qkv_weight, nullptr, where + " class-row q", yield, c.tokens() * d);
      } else {
        ops.qkv = FullyConnected(d, 3 * inner, 3 * inner, bw.qkv_weight, nullptr, where + " qkv", yield);
      }
      if (bw.out_weight != nullptr) {
        ops.out = FullyConnected(inner, d, d, bw.out_weight, bw.out_bias, where + " output projection", yield);
      }
      ops.fc1 = FullyConnected(d, c.mlp_dim, c.mlp_dim, bw.fc1_weight, bw.fc1_bias, where + " fc1", yield);
      // The branch's last GEMM always lets its workers sleep: the head runs on the caller alone.
      ops.fc2 = FullyConnected(c.mlp_dim, d, d, bw.fc2_weight, bw.fc2_bias, where + " fc2",
                               yield || j + 1 == c.blocks_per_branch);
      ops_[b].push_back(std::move(ops));
    }
  }
  head_op_ = FullyConnected(d, c.classes, c.classes, w.head_weight, w.head_bias, "the head");
  finished_.assign(c.branches, 0);
  reserve(1);

  description_ = "cpu: XNNPACK fully-connected + own kernels (" + std::string(kernels::kernel_isa()) + "), " +
                 std::to_string(plan_.threads) + (plan_.threads == 1 ? " thread: " : " threads: ") +
                 plan_.describe() + (pin_ ? ", pinned to " + describe_mask(options.affinity_mask) : "");
}

CpuSession::~CpuSession() = default;

void CpuSession::reserve(size_t batch) {
  if (batch <= capacity_) return;
  arena_.begin(true);
  for (Slot& slot : slots_) slot.arena.begin(true);
  layout(batch);
  arena_.commit();
  arena_.begin(false);
  for (Slot& slot : slots_) {
    slot.arena.commit();
    slot.arena.begin(false);
  }
  layout(batch);
  capacity_ = batch;
}

void CpuSession::layout(size_t n) {
  const ModelConfig& c = model_->config();
  const size_t t = c.tokens(), d = c.embed_dim, inner = c.inner_dim(), m = c.mlp_dim, rows = n * t;
  patches_ = arena_.take(n * c.patches() * c.patch_dim());
  stem_out_ = arena_.take(n * c.patches() * d);
  x0_ = arena_.take(rows * d);
  pooled_ = arena_.take(size_t{c.branches} * n * d);
  merged_ = arena_.take(n * d);
  merged_normed_ = arena_.take(n * d);
  for (Slot& s : slots_) {
    s.z = s.arena.take(rows * d);
    s.normed = s.arena.take(rows * d);
    s.qkv = s.arena.take(rows * 3 * inner);
    s.attended = s.arena.take(rows * inner);
    s.update = s.arena.take(rows * d);
    s.hidden = s.arena.take(rows * m);
    s.c_q = s.arena.take(n * inner);
    s.c_attended = s.arena.take(n * inner);
    s.c_update = s.arena.take(n * d);
    s.c_z = s.arena.take(n * d);
    s.c_normed = s.arena.take(n * d);
    s.c_hidden = s.arena.take(n * m);
    s.attention_keys_floats = (kernels::attention_keys_floats(t, c.head_dim) + 15) / 16 * 16;
    s.attention_keys = s.arena.take(n * c.heads * s.attention_keys_floats);
    s.attention_scores_floats = (kernels::attention_scores_floats(t, c.head_dim) + 15) / 16 * 16;
    s.attention_scores = s.arena.take(attention_items(s.threads, n * c.heads) * s.attention_scores_floats);
  }
}

core::RunStatus CpuSession::run(const core::RunRequest& request, const core::RunControl& control,
                                core::RunProfile& profile) {
  ScopedAffinity pinned(pin_, cpus_);
  reserve(request.batch);

  const Clock::time_point start = Clock::now();
  stem(request);
  const Clock::time_point stem_done = Clock::now();
  profile.stem_ms += core::elapsed_ms(start, stem_done);

  run_branches(request, control, profile);
  const Clock::time_point branches_done = Clock::now();
  profile.branches_ms += core::elapsed_ms(stem_done, branches_done);

  core::RunStatus status;
  status.stopped = StopReason(stopped_.load());
  while (status.branches_used < request.branches && finished_[status.branches_used]) ++status.branches_used;
  const bool answer = status.stopped == StopReason::kNone ||
                      (status.stopped == StopReason::kDeadline && control.best_prefix_on_deadline &&
                       status.branches_used > 0);
  if (!answer) {
    status.branches_used = 0;
    return status;
  }
  head(request, status.branches_used);
  profile.head_ms += core::elapsed_ms(branches_done, Clock::now());
  return status;
}

// Patch gather + embedding GEMM, the stem rows split evenly over the slots; then
// x0 = [cls; patches W^T + b] + pos.
void CpuSession::stem(const core::RunRequest& r) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = model_->weights();
  const size_t d = c.embed_dim, t = c.tokens(), n_patches = c.patches(), pd = c.patch_dim();
  const size_t total = r.batch * n_patches;
  const size_t share = (total + plan_.slots() - 1) / plan_.slots();
  runner_->for_each(plan_.slots(), [&](uint32_t s) {
    const size_t first = std::min(total, s * share), count = std::min(total, first + share) - first;
    kernels::gather_patches(r.input, c.channels, c.image_size, c.patch_size, first, count, patches_ + first * pd);
    slots_[s].stem.run(count, patches_ + first * pd, stem_out_ + first * d, slots_[s].pool.get());
    for (size_t row = first; row < first + count; ++row) {
      const size_t image = row / n_patches, p = row % n_patches;
      kernels::add(stem_out_ + row * d, w.pos_embedding + (1 + p) * d, x0_ + (image * t + 1 + p) * d, d);
    }
  });
  for (size_t i = 0; i < r.batch; ++i) kernels::add(w.cls_token, w.pos_embedding, x0_ + i * t * d, d);
}

void CpuSession::stop(StopReason why) {
  int none = int(StopReason::kNone);
  stopped_.compare_exchange_strong(none, int(why));
}

void CpuSession::run_branches(const core::RunRequest& r, const core::RunControl& control,
                              core::RunProfile& profile) {
  std::fill(finished_.begin(), finished_.end(), 0);
  next_branch_.store(0);
  stopped_.store(int(StopReason::kNone));
  runner_->for_each(std::min(plan_.slots(), r.branches),
                    [&](uint32_t slot) { branch_loop(slot, r, control, profile); });
}

// A slot's task: take the next branch in index order until none is left or the run stops.
void CpuSession::branch_loop(uint32_t slot, const core::RunRequest& r, const core::RunControl& control,
                             core::RunProfile& profile) {
  const ModelConfig& c = model_->config();
  for (;;) {
    const uint32_t b = next_branch_.fetch_add(1);
    if (b >= r.branches || stopped_.load() != int(StopReason::kNone)) return;
    if (StopReason why = control.check(); why != StopReason::kNone) return stop(why);
    const Clock::time_point start = Clock::now();
    control.branch_started(b);
    const BranchJob job{model_.get(), &ops_[b], &model_->weights().branches[b], x0_, r.batch,
                        pooled_ + size_t{b} * r.batch * c.embed_dim};
    if (StopReason why = run_branch(job, slots_[slot], control); why != StopReason::kNone) return stop(why);
    finished_[b] = 1;
    profile.branch_ms[b] += core::elapsed_ms(start, Clock::now());
  }
}

// merged = sum_b w_b pooled_b over the prefix; logits = head(LN(merged)).
void CpuSession::head(const core::RunRequest& r, uint32_t branches) {
  const ModelConfig& c = model_->config();
  const core::ModelWeights& w = model_->weights();
  const size_t d = c.embed_dim, n = r.batch;
  std::fill(merged_, merged_ + n * d, 0.0f);
  for (uint32_t b = 0; b < branches; ++b) {
    const float weight = c.merge_weights.empty() ? 1.0f : c.merge_weights[b];
    kernels::accumulate(pooled_ + size_t{b} * n * d, weight, merged_, n * d);
  }
  kernels::layer_norm(merged_, d, n, d, w.head_norm_weight, w.head_norm_bias, c.layernorm_eps, merged_normed_, d);
  head_op_.run(n, merged_normed_, r.logits, nullptr);
}

}  // namespace pfrt::cpu
