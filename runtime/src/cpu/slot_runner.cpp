#include "cpu/slot_runner.hpp"

#include <pthread.h>

#include <oneapi/tbb/global_control.h>

#include <algorithm>

namespace pfrt::cpu {

// Pins oneTBB workers to the session's CPUs as they enter its arena and gives them back the
// process's CPUs as they leave (workers are shared by every arena of the process).
class SlotRunner::Pinning final : public tbb::task_scheduler_observer {
 public:
  Pinning(tbb::task_arena& arena, const cpu_set_t& cpus) : tbb::task_scheduler_observer(arena), cpus_(cpus) {
    CPU_ZERO(&process_);
    ::sched_getaffinity(0, sizeof process_, &process_);
    observe(true);
  }
  ~Pinning() override { observe(false); }
  Pinning(const Pinning&) = delete;
  Pinning& operator=(const Pinning&) = delete;

  void on_scheduler_entry(bool is_worker) override {
    if (is_worker) ::pthread_setaffinity_np(::pthread_self(), sizeof cpus_, &cpus_);
  }
  void on_scheduler_exit(bool is_worker) override {
    if (is_worker) ::pthread_setaffinity_np(::pthread_self(), sizeof process_, &process_);
  }

 private:
  cpu_set_t cpus_;
  cpu_set_t process_;
};

SlotRunner::SlotRunner(uint32_t slots, bool pin, const cpu_set_t& cpus) {
  // oneTBB never runs more threads than its limit (by default the machine's cores); asking for
  // more only draws a warning. Slots beyond it are run in turn by the threads there are.
  const size_t limit = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  const int concurrency = int(std::min<size_t>(slots, std::max<size_t>(limit, 1)));
  if (concurrency <= 1) return;
  // One slot is reserved for the thread that calls run(); the arena asks for the rest as workers.
  arena_ = std::make_unique<tbb::task_arena>(concurrency, 1);
  arena_->initialize();
  if (pin) pinning_ = std::make_unique<Pinning>(*arena_, cpus);
}

SlotRunner::~SlotRunner() {
  pinning_.reset();
  arena_.reset();
}

}  // namespace pfrt::cpu
