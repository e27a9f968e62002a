#include "session/session.hpp"

#include <unistd.h>

#include <algorithm>

#include "error.hpp"
#include "session/finite_check.hpp"
#include "session/shard_exchange.hpp"

namespace pfrt::core {

uint32_t online_cores() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? uint32_t(n) : 1;
}

namespace {

// More threads than this is surely a mistake (and would exhaust memory for stacks).
constexpr int32_t kMaxThreads = 1024;

void check_request(const format::ModelConfig& c, const float* input, size_t input_floats, const float* logits,
                   size_t logits_floats, uint32_t branches) {
  if (input == nullptr || logits == nullptr) fail(PFRT_INVALID_ARGUMENT, "input and logits must not be null");
  const uint64_t image = c.image_floats();
  if (input_floats == 0 || input_floats % image != 0) {
    fail(PFRT_INVALID_ARGUMENT, "input has " + std::to_string(input_floats) + " floats; the model takes batches of " +
                                    std::to_string(c.channels) + "x" + std::to_string(c.image_size) + "x" +
                                    std::to_string(c.image_size) + " = " + std::to_string(image) + " floats per image");
  }
  const size_t batch = size_t(input_floats / image);
  if (logits_floats / c.classes < batch) {
    fail(PFRT_INVALID_ARGUMENT, "logits buffer holds " + std::to_string(logits_floats) + " floats; a batch of " +
                                    std::to_string(batch) + " needs " + std::to_string(batch * c.classes));
  }
  if (branches > c.branches) {
    fail(PFRT_INVALID_ARGUMENT,
         "prefix of " + std::to_string(branches) + " branches requested; the model has " + std::to_string(c.branches));
  }
  check_finite_input(c, input, input_floats);
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options,
                 std::shared_ptr<ShardExchange> shard)
    : model_(std::move(model)), shard_(std::move(shard)) {
  if (options.threads < 0 || options.threads > kMaxThreads) {
    fail(PFRT_INVALID_ARGUMENT, "threads must be between 0 (all cores) and " + std::to_string(kMaxThreads) + ", got " +
                                    std::to_string(options.threads));
  }
  backend_ = options.backend.empty() ? &default_backend() : &find_backend(options.backend);
  if (std::string why = backend_->unavailable_reason(); !why.empty()) {
    if (options.backend.empty()) {
      fail(PFRT_BACKEND_ERROR,
           std::string("the default backend '") + backend_->name() + "' cannot run here: " + why +
               "; pfrt does not fall back to another: name one (this build has: " + builtin_backend_names() + ")");
    }
    fail(PFRT_BACKEND_ERROR, std::string("backend '") + backend_->name() + "' cannot run here: " + why);
  }
  if (options.spin_us < -1 || options.spin_us > int32_t(kMaxSpinUs)) {
    fail(PFRT_INVALID_ARGUMENT, "spin_us must be between 0 (never spin) and " + std::to_string(kMaxSpinUs) +
                                    " microseconds, or -1 for the default (" + std::to_string(kDefaultSpinUs) +
                                    "), got " + std::to_string(options.spin_us));
  }
  options_.threads = options.threads == 0 ? online_cores() : uint32_t(options.threads);
  options_.affinity_mask = options.affinity_mask;
  options_.spin_us = options.spin_us < 0 ? kDefaultSpinUs : uint32_t(options.spin_us);
  if (shard_ != nullptr) {
    options_.shard = shard_->shard();
    if (options_.shard.ranks > 1 && !backend_->shards()) {
      fail(PFRT_UNSUPPORTED, std::string("backend '") + backend_->name() +
                                 "' does not run sharded sessions (cpu, reference and cuda do)");
    }
    if (options_.shard.ranks > model_->config().branches) {
      fail(PFRT_INVALID_ARGUMENT, std::to_string(options_.shard.ranks) + " ranks for a model of " +
                                      std::to_string(model_->config().branches) +
                                      " branches: a rank would have no branch to run; use at most " +
                                      std::to_string(model_->config().branches) + " ranks");
    }
  }
  state_ = backend_->create_session(model_, options_);
  profile_.branch_ms.assign(model_->config().branches, 0.0);
}

Session::~Session() = default;

std::string Session::describe() const {
  return shard_ != nullptr ? state_->describe() + "; " + shard_->describe() : state_->describe();
}

RunOutcome Session::run(const float* input, size_t input_floats, float* logits, size_t logits_floats,
                        const RunOptions& options) {
  const format::ModelConfig& c = model_->config();
  check_request(c, input, input_floats, logits, logits_floats, options.branches);
  RunRequest request;
  request.input = input;
  request.batch = size_t(input_floats / c.image_floats());
  request.branches = options.branches == 0 ? c.branches : options.branches;
  request.logits = logits;

  RunControl control;
  control.deadline = options.deadline;
  control.best_prefix_on_deadline = options.best_prefix_on_deadline;
  control.cancel = &cancel_;
  control.on_branch_start = hook_;
  control.hook_context = hook_context_;
  if (shard_ != nullptr) {
    control.shard = shard_.get();
    shard_->start_run(options_.shard.owned_below(request.branches));
  }

  profile_.stem_ms = profile_.branches_ms = profile_.head_ms = 0.0;
  std::fill(profile_.branch_ms.begin(), profile_.branch_ms.end(), 0.0);
  profile_.stage_ms.fill(0.0);
  profile_.stage_flops.fill(0);
  cancel_.store(false, std::memory_order_relaxed);
  const Clock::time_point start = Clock::now();
  const RunStatus status = state_->run(request, control, profile_);
  const double elapsed = elapsed_ms(start, Clock::now());
  cancel_.store(false, std::memory_order_relaxed);

  if (status.stopped == StopReason::kCancelled) {
    fail(PFRT_CANCELLED, "run cancelled after " + std::to_string(elapsed) + " ms");
  }
  if (status.stopped == StopReason::kDeadline && status.branches_used == 0) {
    fail(PFRT_DEADLINE_EXCEEDED, "deadline passed after " + std::to_string(elapsed) + " ms, before " +
                                     (options.best_prefix_on_deadline ? std::string("the first branch finished")
                                                                      : std::string("the run finished")));
  }
  check_finite_logits(c, logits, request.batch);
  RunOutcome outcome;
  outcome.elapsed_ms = elapsed;
  outcome.branches_used = status.branches_used;
  outcome.batch = request.batch;
  outcome.deadline_reached = status.stopped == StopReason::kDeadline;
  return outcome;
}

}  // namespace pfrt::core
