#include "cpu/cpu_session.hpp"

#include <algorithm>
#include <cstdio>

#include "cpu/affinity.hpp"
#include "cpu/kernels/kernels.hpp"
#include "plan/prefix_rule.hpp"

namespace pfrt::cpu {

using core::Clock;
using core::StopReason;

namespace {

plan::PlanOptions plan_options(const core::BackendOptions& options, size_t batch) {
  plan::PlanOptions o;
  o.batch = batch;
  o.threads = options.threads;
  o.attention_scratch = &attention_scratch_floats;
  return o;
}

std::string mib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
  return text;
}

}  // namespace

CpuSession::CpuSession(std::shared_ptr<const core::Model> model, const core::BackendOptions& options)
    : model_(std::move(model)), options_(options) {
  CPU_ZERO(&cpus_);
  if (options.affinity_mask != 0) {
    cpus_ = usable_cpus(options.affinity_mask);
    pin_ = true;
  }
  plan_ = plan::ExecutionPlan(model_->config(), plan_options(options_, 1));
  packed_ = shared_packed_model(model_, plan_.linears());
  slots_.resize(plan_.slots());
  for (uint32_t s = 0; s < plan_.slots(); ++s) {
    slots_[s].team = std::make_unique<WorkerTeam>(plan_.threads().slot_threads[s] - 1, options_.spin_us,
                                                  pin_ ? &cpus_ : nullptr);
  }
  runner_ = std::make_unique<SlotRunner>(plan_.slots(), pin_, cpus_);
  finished_.assign(model_->config().branches, 0);
  reserve(1);
}

CpuSession::~CpuSession() = default;

std::string CpuSession::describe() const {
  std::string text = "cpu: pfrt GEMM + own kernels (" + std::string(kernels::kernel_isa()) + "), " +
                     std::to_string(options_.threads) + (options_.threads == 1 ? " thread: " : " threads: ") +
                     plan_.describe();
  text += "; idle threads spin " + std::to_string(options_.spin_us) + " us; weights packed once per model (" +
          mib(packed_->bytes()) + ", shared)";
  if (pin_) text += ", pinned to " + describe_mask(options_.affinity_mask);
  return text;
}

size_t CpuSession::arena_bytes() const {
  size_t bytes = session_arena_.bytes();
  for (const Slot& s : slots_) bytes += s.arena.bytes();
  return bytes;
}

void CpuSession::reserve(size_t batch) {
  if (batch > plan_.batch()) plan_ = plan::ExecutionPlan(model_->config(), plan_options(options_, batch));
  session_arena_.reserve(plan_.arena_floats(plan::Arena::kSession));
  for (Slot& s : slots_) s.arena.reserve(plan_.arena_floats(plan::Arena::kSlot));
  stages_ = std::make_unique<StageRunner>(plan_, *model_, *packed_);
}

plan::Memory CpuSession::memory(const core::RunRequest& r, uint32_t slot) {
  return plan::Memory{r.input, r.logits, session_arena_.data(), slots_[slot].arena.data()};
}

core::RunStatus CpuSession::run(const core::RunRequest& request, const core::RunControl& control,
                                core::RunProfile& profile) {
  ScopedAffinity pinned(pin_, cpus_);
  if (request.batch > plan_.batch()) reserve(request.batch);

  const Clock::time_point start = Clock::now();
  stem(request);
  const Clock::time_point stem_done = Clock::now();
  profile.stem_ms += core::elapsed_ms(start, stem_done);

  std::fill(finished_.begin(), finished_.end(), 0);
  next_branch_.store(0);
  stopped_.store(int(StopReason::kNone));
  runner_->for_each(std::min(plan_.slots(), request.branches),
                    [&](uint32_t slot) { branch_loop(slot, request, control, profile); });
  const Clock::time_point branches_done = Clock::now();
  profile.branches_ms += core::elapsed_ms(stem_done, branches_done);

  const uint32_t prefix = plan::finished_prefix(request.branches, [&](uint32_t b) { return finished_[b] != 0; });
  const core::RunStatus status =
      plan::settle(StopReason(stopped_.load()), prefix, request.branches, control.best_prefix_on_deadline);
  if (status.branches_used == 0) return status;
  const plan::Memory m = memory(request, 0);
  for (const plan::Stage& s : plan_.head()) {
    stages_->run(s, m, request.batch, 0, status.branches_used, *slots_[0].team);
  }
  profile.head_ms += core::elapsed_ms(branches_done, Clock::now());
  return status;
}

// The stem's patch rows split evenly over the slots, each slot's team splitting its share.
void CpuSession::stem(const core::RunRequest& r) {
  const size_t total = r.batch * model_->config().patches();
  const uint32_t slots = plan_.slots();
  const size_t share = (total + slots - 1) / slots;
  runner_->for_each(slots, [&](uint32_t s) {
    const size_t first = std::min(total, s * share), count = std::min(total, first + share) - first;
    stages_->run_stem(memory(r, s), r.batch, first, count, s == 0, *slots_[s].team);
  });
}

void CpuSession::stop(StopReason why) {
  int none = int(StopReason::kNone);
  stopped_.compare_exchange_strong(none, int(why));
}

// A slot's task: take the next branch in index order until none is left or the run stops;
// check the run's control before every stage.
void CpuSession::branch_loop(uint32_t slot, const core::RunRequest& r, const core::RunControl& control,
                             core::RunProfile& profile) {
  const plan::Memory m = memory(r, slot);
  WorkerTeam& team = *slots_[slot].team;
  for (;;) {
    const uint32_t b = next_branch_.fetch_add(1);
    if (b >= r.branches || stopped_.load() != int(StopReason::kNone)) return;
    const Clock::time_point start = Clock::now();
    control.branch_started(b);
    for (const plan::Stage& s : plan_.branch()) {
      if (StopReason why = control.check(); why != StopReason::kNone) return stop(why);
      if (stopped_.load(std::memory_order_relaxed) != int(StopReason::kNone)) return;
      stages_->run(s, m, r.batch, b, 0, team);
    }
    finished_[b] = 1;
    profile.branch_ms[b] += core::elapsed_ms(start, Clock::now());
  }
}

}  // namespace pfrt::cpu
