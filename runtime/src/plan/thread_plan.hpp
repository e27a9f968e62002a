// How a session's threads are split between branches (a pure function, unit-tested).
//
// A session of T threads running B branches gets S = min(T, B) branch slots. Each slot runs
// one branch at a time, from start to end, on one thread; when T > B the T - S remaining
// threads are shared out as helpers of the slots (they split the slot's GEMMs, LayerNorms and
// attention), the first T mod S slots getting one more. When B > T, the B branches queue for
// the S = T slots in index order. Either way, slot threads plus helpers = T: never more
// runnable threads than asked for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfrt::plan {

struct ThreadPlan {
  uint32_t threads = 1;                // T
  uint32_t branches = 1;               // B
  std::vector<uint32_t> slot_threads;  // per slot: 1 (its own thread) + helpers; sums to T

  uint32_t slots() const { return uint32_t(slot_threads.size()); }
  uint32_t most_slot_threads() const { return slot_threads.empty() ? 1 : slot_threads.front(); }
  // "2 branch slots x 1 thread", "1 branch slot x 2 threads", "3 branch slots x 2-1 threads".
  std::string describe() const;
};

// threads >= 1, branches >= 1.
ThreadPlan plan_threads(uint32_t threads, uint32_t branches);

// The same split without building it (no allocation: for a run that uses fewer threads than
// its session has): slots, and the threads of slot `slot` (0 past the last slot).
uint32_t slot_count(uint32_t threads, uint32_t branches);
uint32_t threads_of_slot(uint32_t threads, uint32_t branches, uint32_t slot);

}  // namespace pfrt::plan
