// CPU pinning for a session's threads (BackendOptions::affinity_mask, bit i = CPU i).
// Pool workers inherit the creating thread's mask, so pools are created inside a
// ScopedAffinity; oneTBB workers are pinned as they enter the session's arena (an observer);
// the thread that calls run() is pinned for the duration of the run and then restored.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>

namespace pfrt::cpu {

// The CPUs of `mask` this process may run on. Throws Error (PFRT_INVALID_ARGUMENT) naming the
// mask and the usable CPUs when it names none.
cpu_set_t usable_cpus(uint64_t mask);

// "0x3 (CPUs 0,1)" for messages and describe().
std::string describe_mask(uint64_t mask);

// Pins the calling thread to `cpus` until destroyed (no-op when `active` is false).
class ScopedAffinity {
 public:
  ScopedAffinity(bool active, const cpu_set_t& cpus);
  ~ScopedAffinity();
  ScopedAffinity(const ScopedAffinity&) = delete;
  ScopedAffinity& operator=(const ScopedAffinity&) = delete;

 private:
  bool active_;
  cpu_set_t saved_;
};

}  // namespace pfrt::cpu
