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

// `packed`: the model's packed weights, which size int8 GEMMs' quantised inputs and f16 GEMMs'
// half-precision ones (null: no such scratch, for the plan whose linear layers the weights are
// packed from).
plan::PlanOptions plan_options(const core::BackendOptions& options, size_t batch, const PackedModel* packed) {
  plan::PlanOptions o;
  o.batch = batch;
  o.threads = options.threads;
  o.attention_scratch = &attention_scratch_floats;
  if (packed != nullptr) {
    o.int8_scratch = [packed](uint32_t layer, size_t rows) {
      const size_t bytes = packed->int8_layer(layer, 0).activation_bytes(rows);
      return (bytes + sizeof(float) - 1) / sizeof(float);
    };
    if (packed->f16_kernel() != nullptr) {
      o.f16_scratch = [packed](uint32_t layer, size_t rows) {
        return packed->f16(layer) ? packed->f16_layer(layer, 0).input_bytes(rows) / sizeof(float) : 0;
      };
    }
  }
  o.shard = options.shard;
  return o;
}

std::string mib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
  return text;
}

}  // namespace

CpuSession::CpuSession(std::shared_ptr<const core::Model> model, const core::BackendOptions& options)
    : model_(std::move(model)), options_(options), governor_(options.threads) {
  CPU_ZERO(&cpus_);
  if (options.affinity_mask != 0) {
    cpus_ = usable_cpus(options.affinity_mask);
    pin_ = true;
  }
  // The linear layers do not depend on the options; the int8 scratch depends on the packing.
  packed_ =
      shared_packed_model(model_, plan::ExecutionPlan(model_->config(), plan_options(options_, 1, nullptr)).linears());
  plan_ = plan::ExecutionPlan(model_->config(), plan_options(options_, 1, packed_.get()));
  slots_.resize(plan_.slots());
  for (uint32_t s = 0; s < plan_.slots(); ++s) {
    slots_[s].team =
        std::make_unique<WorkerTeam>(plan_.threads().slot_threads[s] - 1, options_.spin_us, pin_ ? &cpus_ : nullptr);
  }
  runner_ = std::make_unique<SlotRunner>(plan_.slots(), pin_, cpus_);
  finished_.assign(model_->config().branches, 0);
  slot_ms_.assign(plan_.slots(), 0.0);
  stem_quantize_ms_.assign(plan_.slots(), 0.0);
  reserve(1);
}

CpuSession::~CpuSession() = default;

std::string CpuSession::describe() const {
  const bool int8 = plan_.quantization().precision == format::Precision::kInt8;
  const std::string isa = int8 ? std::string("int8 ") + packed_->int8_layer(0, 0).isa() : kernels::kernel_isa();
  std::string text = "cpu: pfrt GEMM + own kernels (" + isa + "), " + std::to_string(options_.threads) +
                     (options_.threads == 1 ? " thread: " : " threads: ") + plan_.describe();
  text += "; idle threads spin " + std::to_string(options_.spin_us) + " us; weights packed once per model (" +
          mib(packed_->bytes()) + ", shared); fewer threads while other processes take the cores";
  if (pin_) text += ", pinned to " + describe_mask(options_.affinity_mask);
  if (const kernels::F16GemmKernel* f16 = packed_->f16_kernel()) {
    text += std::string("; f16 arithmetic (NEON fp16, f32 chunk sums): kernel ") + f16->isa +
            ", f16 products summed in f16 over " + std::to_string(f16->chunk) +
            " k, then in f32; the patch embedding on f16 weights widened to f32";
  } else if (plan_.quantization().precision == format::Precision::kF16) {  // no f16 arithmetic (x86), or switched off
    text += "; f16 weights widened to f32 once, when the model was opened (no f16 arithmetic used)";
  }
  return text;
}

size_t CpuSession::arena_bytes() const {
  size_t bytes = session_arena_.bytes();
  for (const Slot& s : slots_) bytes += s.arena.bytes();
  return bytes;
}

void CpuSession::reserve(size_t batch) {
  if (batch > plan_.batch()) {
    plan_ = plan::ExecutionPlan(model_->config(), plan_options(options_, batch, packed_.get()));
  }
  session_arena_.reserve(plan_.arena_floats(plan::Arena::kSession));
  for (Slot& s : slots_) s.arena.reserve(plan_.arena_floats(plan::Arena::kSlot));
  stages_ = std::make_unique<StageRunner>(plan_, *model_, *packed_);
}

plan::Memory CpuSession::memory(const core::RunRequest& r, uint32_t slot) {
  return plan::Memory{r.input, r.logits, session_arena_.data(), slots_[slot].arena.data()};
}

void CpuSession::timed_stage(const plan::Stage& s, const plan::Memory& memory, size_t batch, uint32_t branch,
                             uint32_t prefix, uint32_t slot) {
  const Clock::time_point start = Clock::now();
  double quantize_ms = 0.0;
  stages_->run(s, memory, batch, branch, prefix, *slots_[slot].team, quantize_ms);
  const size_t kind = size_t(s.kind);
  slots_[slot].stage_ms[kind] += core::elapsed_ms(start, Clock::now()) - quantize_ms;
  slots_[slot].stage_ms[core::kQuantizeStageSlot] += quantize_ms;
  slots_[slot].stage_flops[kind] += s.flops_per_image * batch;
}

namespace {

// Whether the longest of equal pieces of work took far longer than the quickest: 3 times, and
// 0.2 ms more (uneven helper counts make up to 1.5x; a preempted thread, milliseconds).
bool straggled(double quickest_ms, double longest_ms) { return longest_ms > 3.0 * quickest_ms + 0.2; }

}  // namespace

template <class F>
bool CpuSession::on_slots(uint32_t count, const F& fn) {
  runner_->for_each(count, [&](uint32_t slot) {
    const Clock::time_point start = Clock::now();
    fn(slot);
    slot_ms_[slot] = core::elapsed_ms(start, Clock::now());
  });
  if (count < 2) return false;
  const auto [quickest, longest] = std::minmax_element(slot_ms_.begin(), slot_ms_.begin() + count);
  return straggled(*quickest, *longest);
}

core::RunStatus CpuSession::run(const core::RunRequest& request, const core::RunControl& control,
                                core::RunProfile& profile) {
  ScopedAffinity pinned(pin_, cpus_);
  if (request.batch > plan_.batch()) reserve(request.batch);
  // The threads this run uses, split as plan_threads would split them over this shard's branches.
  const plan::Shard& shard = plan_.shard();
  const uint32_t branches = std::max(1u, shard.owned_below(model_->config().branches));
  const uint32_t threads = governor_.threads();
  const uint32_t slots = plan::slot_count(threads, branches);
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    const uint32_t slot_threads = plan::threads_of_slot(threads, branches, s);
    slots_[s].team->set_active_helpers(slot_threads > 0 ? slot_threads - 1 : 0);
  }

  for (Slot& s : slots_) {
    s.stage_ms.fill(0.0);
    s.stage_flops.fill(0);
  }
  const Clock::time_point start = Clock::now();
  bool stalled = stem(request, slots);
  const Clock::time_point stem_done = Clock::now();
  profile.stem_ms += core::elapsed_ms(start, stem_done);
  const size_t stem_kind = size_t(plan::StageKind::kStem);
  for (uint32_t s = 0; s < slots; ++s) {
    profile.stage_ms[stem_kind] += slot_ms_[s] - stem_quantize_ms_[s];
    profile.stage_ms[core::kQuantizeStageSlot] += stem_quantize_ms_[s];
  }
  for (const plan::Stage& s : plan_.stem()) profile.stage_flops[stem_kind] += s.flops_per_image * request.batch;

  std::fill(finished_.begin(), finished_.end(), 0);
  next_branch_.store(0);
  stopped_.store(int(StopReason::kNone));
  runner_->for_each(std::min(slots, shard.owned_below(request.branches)),
                    [&](uint32_t slot) { branch_loop(slot, request, control, profile); });
  const Clock::time_point branches_done = Clock::now();
  profile.branches_ms += core::elapsed_ms(stem_done, branches_done);

  // Other shards' branches are theirs to finish (settle agrees on the prefix with them).
  const uint32_t prefix =
      plan::finished_prefix(request.branches, [&](uint32_t b) { return !shard.owns(b) || finished_[b] != 0; });
  // Branches are equal work: one far slower than another ran on a preempted thread.
  const uint32_t done = shard.owned_below(prefix);
  if (done >= 2) {
    double quickest = profile.branch_ms[shard.branch(0)], longest = quickest;
    for (uint32_t i = 1; i < done; ++i) {
      quickest = std::min(quickest, profile.branch_ms[shard.branch(i)]);
      longest = std::max(longest, profile.branch_ms[shard.branch(i)]);
    }
    stalled = stalled || straggled(quickest, longest);
  }
  const core::RunStatus status = plan::settle(control, StopReason(stopped_.load()), prefix, request);
  if (status.branches_used > 0) {
    const plan::Memory m = memory(request, 0);
    for (const plan::Stage& s : plan_.head()) {
      timed_stage(s, m, request.batch, 0, status.branches_used, 0);
      if (s.op == plan::Op::kMerge && control.shard != nullptr) {
        control.shard->reduce(plan::locate(plan_, m, s.out), request.batch * s.out.cols);
      }
    }
  }
  const Clock::time_point end = Clock::now();
  if (status.branches_used > 0) profile.head_ms += core::elapsed_ms(branches_done, end);
  for (Slot& s : slots_) {
    stalled = s.team->take_stall() || stalled;
    for (size_t k = 0; k < core::kProfiledStageKinds; ++k) {
      profile.stage_ms[k] += s.stage_ms[k];
      profile.stage_flops[k] += s.stage_flops[k];
    }
  }
  governor_.after_run(stalled, end);
  return status;
}

// The stem's patch rows split evenly over the slots in use, each slot's team splitting its
// share; whether a slot straggled.
bool CpuSession::stem(const core::RunRequest& r, uint32_t slots) {
  const size_t total = r.batch * model_->config().patches();
  const size_t share = (total + slots - 1) / slots;
  std::fill(stem_quantize_ms_.begin(), stem_quantize_ms_.end(), 0.0);
  return on_slots(slots, [&](uint32_t s) {
    const size_t first = std::min(total, s * share), count = std::min(total, first + share) - first;
    stages_->run_stem(memory(r, s), r.batch, first, count, s == 0, *slots_[s].team, stem_quantize_ms_[s]);
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
  for (;;) {
    const uint32_t b = plan_.shard().branch(next_branch_.fetch_add(1));  // this shard's next branch
    if (b >= r.branches || stopped_.load() != int(StopReason::kNone)) return;
    const Clock::time_point start = Clock::now();
    control.branch_started(b);
    for (const plan::Stage& s : plan_.branch()) {
      if (StopReason why = control.check(); why != StopReason::kNone) return stop(why);
      if (stopped_.load(std::memory_order_relaxed) != int(StopReason::kNone)) return;
      timed_stage(s, m, r.batch, b, 0, slot);
    }
    finished_[b] = 1;
    profile.branch_ms[b] += core::elapsed_ms(start, Clock::now());
  }
}

}  // namespace pfrt::cpu
