// A team of threads that runs the work items of one parallel region at a time: the thread
// that calls run() (the leader) plus `helpers` threads of the team's own. It is what splits a
// branch's GEMMs, LayerNorms and attention over the threads a branch slot owns.
//
// Why not pthreadpool: its workers spin a fixed, long time between regions, and a spinning
// worker that has lost its core to another process stalls every region after it. Here an idle
// thread spins for at most `spin_us` microseconds (0: never), yielding its CPU every few
// microseconds to any thread waiting for it, then sleeps on a futex, and the leader never
// waits for a helper that has not claimed an item: items are claimed one at a time, so a
// helper that the OS has not scheduled simply gets none, and the leader only waits for items
// that are actually being worked on.
//
// Items have homes: a region's items are cut into one contiguous range per taking-part thread
// (the leader's first), and each thread claims its own range, in order, before it takes what is
// left of the others'. Stages that number their items in row order (GEMM row blocks, LayerNorm
// row tiles, attention query blocks) thus leave each thread the same rows from one operator to
// the next, in its own cache: a row written by one core and read by another costs a transfer
// between cores, which on a machine whose cores are far apart (measured: 500 ns round trips
// between this build machine's two virtual cores at times) made 2-thread serial blocks slower
// than the operators alone. A thread that is not scheduled still holds nothing up: its range
// is taken by the others.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace pfrt::cpu {

class WorkerTeam {
 public:
  using Task = void (*)(void* context, size_t item);

  // helpers: threads besides the leader (0: the leader alone, no thread is started).
  // spin_us: how long an idle thread (helper between regions, leader waiting for the last
  // items) spins before it sleeps. pin: when non-null, the helpers run on these CPUs only.
  WorkerTeam(uint32_t helpers, uint32_t spin_us, const cpu_set_t* pin = nullptr);
  ~WorkerTeam();
  WorkerTeam(const WorkerTeam&) = delete;
  WorkerTeam& operator=(const WorkerTeam&) = delete;

  uint32_t threads() const { return uint32_t(helpers_.size()) + 1; }
  // Threads that take part in regions: the leader and the first active_helpers() helpers (the
  // others sleep until set_active_helpers raises the count again).
  uint32_t active_threads() const { return active_helpers() + 1; }
  uint32_t active_helpers() const { return active_.load(std::memory_order_relaxed); }
  uint32_t spin_us() const { return spin_us_; }

  // At most `helpers` helpers take part from the next region on (clamped to the team's). For
  // running on fewer threads while other processes take the cores (thread_governor.hpp).
  void set_active_helpers(uint32_t helpers);

  // Whether, since the last call, the leader waited for a helper's item far longer than items
  // take (more than 3 times the leader's own mean item time, plus 200 us): the helper was
  // preempted in the middle of it. Clears the flag.
  bool take_stall() {
    const bool stalled = stalled_;
    stalled_ = false;
    return stalled;
  }

  // Calls task(context, item) once for every item in [0, items), on the calling thread and
  // the helpers, and returns when every call has returned. `task` must not throw. One caller
  // at a time (the team belongs to one branch slot); no allocation.
  void run(size_t items, Task task, void* context);

  template <class F>
  void for_each(size_t items, const F& f) {
    run(
        items, [](void* c, size_t i) { (*static_cast<const F*>(c))(i); }, const_cast<F*>(&f));
  }

  // Tells the helpers to sleep now rather than spin out their budget (the end of a run).
  void rest();

 private:
  // Items of one region are numbered in 32 bits (the low half of a claim word); run() splits
  // larger counts into several regions.
  static constexpr uint32_t kClosed = 0xffffffffu;  // a claim word's item field while a region is set up
  static constexpr size_t kMaxRegionItems = kClosed - 1;

  // One claim word per home range, on a cache line of its own: (epoch << 32) | next unclaimed
  // item of the range (kClosed: none may be claimed).
  struct alignas(64) ClaimWord {
    std::atomic<uint64_t> word{kClosed};
  };

  void run_region(uint32_t items, Task task, void* context);
  void leader_wait();  // returns once remaining_ == 0 (spin, then sleep)
  void helper_loop(uint32_t index);
  // Claims and runs items, those of range `home` first, then the others' in turn, until none is
  // left; returns how many it ran. The leader's home is 0 (it counts its items off remaining_
  // at the end), helper i's is i + 1 (each item counted off as it finishes).
  uint32_t claim_and_run(uint32_t home);
  void idle_wait(uint32_t seen);  // a helper returns once published_ != seen (spin, then sleep)
  void stop();                    // stops and joins the helpers

  // Written by the leader before a region opens, read by helpers before they claim an item,
  // and by spinning helpers between regions: one cache line, apart from the claim word that
  // every claim writes.
  alignas(64) std::atomic<Task> task_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<uint32_t> items_{0};
  std::atomic<uint32_t> ranges_{1};     // home ranges of the region: the threads taking part
  std::atomic<uint32_t> published_{0};  // futex word: epoch of the newest region (helpers sleep on it)
  std::atomic<uint32_t> rest_{0};       // helpers that have seen epoch rest_ sleep without spinning
  std::atomic<uint32_t> sleepers_{0};   // helpers asleep or about to sleep on published_
  std::atomic<bool> stop_{false};
  // Helpers with an index below it take part; the others sleep on it (futex word).
  std::atomic<uint32_t> active_{0};

  // claim_words_ (helpers + 1) claim words, one per possible home range. The count is kept apart
  // from helpers_, which the constructor is still filling while the first helpers run.
  uint32_t claim_words_;
  std::unique_ptr<ClaimWord[]> claims_;

  // Items of the current region not finished yet (futex word: the leader sleeps on it), and
  // whether the leader is asleep or about to sleep on it.
  alignas(64) std::atomic<uint32_t> remaining_{0};
  std::atomic<uint32_t> leader_asleep_{0};

  uint32_t spin_us_;
  uint32_t epoch_ = 0;    // the leader's copy of the current epoch
  bool stalled_ = false;  // the leader's: see take_stall()
  bool pinned_;
  cpu_set_t pin_;
  std::vector<std::thread> helpers_;
};

}  // namespace pfrt::cpu
