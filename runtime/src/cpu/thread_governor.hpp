// How many of its threads a cpu session uses for the next run: all of them while nothing
// disturbs it, fewer while other processes take its cores.
//
// Why: a run is a chain of fork-join steps (the stem's row blocks, the branches, each stage's
// work items). When another process wants the cores, the OS preempts one of the session's
// threads in the middle of its share and every other thread then waits for it at the join,
// for a scheduler slice (milliseconds). Measured on 2 cores beside one busy loop: a 1-branch
// DeiT-Tiny on 2 threads went from 0.38 ms to 1.3 ms mean and 4 ms p90, while the same model on
// 1 thread was not slowed at all (0.58 ms: one core each). So the session halves its threads
// when runs stall (a thread waited far longer for another than their work took: twice within
// kStallWindow runs, since a lone stall is as likely a hiccup of the machine, e.g. a virtual
// CPU descheduled by its host) and tries twice as many again after a back-off that doubles
// while the trials stall (10 ms to 1 s): beside a steady load it settles on what the free
// cores allow, and it is back to all threads about a second after the load goes.
//
// Pure (time comes in as an argument), so its decisions are unit-tested.
#pragma once

#include <chrono>
#include <cstdint>

namespace pfrt::cpu {

class ThreadGovernor {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstBackoff{10};
  static constexpr std::chrono::milliseconds kLongestBackoff{1000};
  static constexpr uint64_t kStallWindow = 8;

  explicit ThreadGovernor(uint32_t threads) : threads_(threads < 1 ? 1 : threads), current_(threads_) {}

  // Threads for the next run (1 .. threads).
  uint32_t threads() const { return current_; }
  // Counts of what happened so far: runs that stalled, and runs on fewer threads than all.
  uint64_t stalls() const { return stalls_; }
  uint64_t reduced_runs() const { return reduced_runs_; }

  // After a run on threads() threads, ended at `now`: whether one of its threads waited for a
  // preempted one.
  void after_run(bool stalled, Clock::time_point now);

 private:
  uint32_t threads_;
  uint32_t current_;
  bool trial_ = false;  // the last run tried more threads than the back-off settled on
  Clock::duration backoff_ = kFirstBackoff;
  Clock::time_point next_trial_{};
  uint64_t runs_ = 0;
  uint64_t last_stall_ = 0;  // the run (counted from 1) of the last stall, 0: none yet
  uint64_t stalls_ = 0, reduced_runs_ = 0;
};

}  // namespace pfrt::cpu
