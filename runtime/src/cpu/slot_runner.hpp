// Runs work on a session's branch slots at once: slot s on one thread of a oneTBB arena of
// `slots` threads (the caller's included), which a task_scheduler_observer pins to the
// session's CPUs when it has an affinity mask. One slot needs no arena: the caller runs it.
// The arena is capped at oneTBB's thread limit; slots beyond it then run in turn.
#pragma once

#include <sched.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_scheduler_observer.h>

#include <cstdint>
#include <memory>

namespace pfrt::cpu {

class SlotRunner {
 public:
  // pin: pin the arena's workers to `cpus` while they work for it.
  SlotRunner(uint32_t slots, bool pin, const cpu_set_t& cpus);
  ~SlotRunner();
  SlotRunner(const SlotRunner&) = delete;
  SlotRunner& operator=(const SlotRunner&) = delete;

  // Calls f(s) for s in [0, count), count <= slots, concurrently where threads are free, and
  // returns when all returned (an exception from any f is rethrown here).
  template <class F>
  void for_each(uint32_t count, F&& f) {
    if (count <= 1 || !arena_) {
      for (uint32_t s = 0; s < count; ++s) f(s);
      return;
    }
    arena_->execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<uint32_t>(0, count, 1),
          [&](const tbb::blocked_range<uint32_t>& range) {
            for (uint32_t s = range.begin(); s != range.end(); ++s) f(s);
          },
          tbb::simple_partitioner());
    });
  }

 private:
  class Pinning;
  std::unique_ptr<tbb::task_arena> arena_;
  std::unique_ptr<Pinning> pinning_;
};

}  // namespace pfrt::cpu
