#include "cpu/worker_team.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

// The protocol. A region has an epoch (the leader's count of regions, 32 bits, wrapping) and
// R home ranges (the threads taking part), range r being items [r n / R, (r + 1) n / R); each
// range has a claim word (epoch << 32 | next unclaimed item of the range).
//
// Opening region E, the leader
//   1. stores every claim word = E|kClosed (relaxed): nothing can be claimed, and any claim
//      word a helper read earlier is now out of date, so its compare-exchange will fail;
//   2. stores task_, context_, items_, ranges_ (release) and remaining_ = items;
//   3. stores each range's claim word = E|first item of the range (release), then
//      published_ = E and, when sleepers_ says some helper sleeps, wakes as many as there are
//      items besides the leader's first.
// A thread claims item n of range r by reading r's word = E|n (acquire), then the job fields
// (acquire), and, when n is below the range's end, compare-exchanging E|n -> E|n+1. If that
// succeeds, the fields it read are region E's: not older, because E|n lies in the release
// sequence of step 3's store (every later write of the word up to the next step 1 is a
// compare-exchange), which follows step 2's stores; not newer, because region E+1's fields are
// written (release) after its step 1, so a thread that read one of them would see E+1|kClosed
// or later in the word and fail. A thread that reads fields newer than its word skips that
// word; no item is lost, as the leader goes through every range before it waits. Threads
// claim their own range first (the leader range 0, helper i range i + 1), then the others in
// turn, until none is left; a helper the OS has not scheduled claims none and is never waited
// for. Every finished item decrements remaining_ (the leader subtracts its own items at once);
// the leader returns when it is 0 (acquire: the items' writes are visible). Stale helpers
// cannot touch remaining_: they hold no item.
//
// Sleeping, without lost wake-ups (the futex compares the word under its lock, and seq_cst
// orders each "announce, then check" against the other side's "change, then check"):
//   helper: sleepers_ += 1; while published_ == seen: futex_wait(published_, seen)
//   leader: published_ = E; if sleepers_ != 0: futex_wake(published_)
//   leader: leader_asleep_ = 1; while remaining_ != 0: futex_wait(remaining_, value read)
//   helper: if remaining_ -= 1 reached 0 and leader_asleep_: futex_wake(remaining_)
// So no futex call is made while nobody sleeps. A helper sleeps after spin_us of waiting, or
// at once when rest() has marked the epoch it has seen (rest_ == seen; a new region changes
// the epoch, so rest needs no clearing). Helpers start asleep (rest_ = published_ = 0).
//
// Epochs wrap after 2^32 regions: a helper would have to stall between reading a claim word
// and its compare-exchange for exactly a multiple of 2^32 regions for a stale claim to succeed.

namespace pfrt::cpu {

namespace {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free,
              "futex words are 32-bit atomics");

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& word, int count) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

// One iteration of a spin loop: tells the core (and a hyperthread sibling) that we are waiting.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

// Spins until done() or spin_us have passed; the clock is read every kSpinsPerClockRead
// iterations only. Every kSpinsPerYield iterations (about 5 us of pauses on x86) the thread
// offers its CPU to any other thread waiting for it: when a helper wakes up on its leader's
// CPU (the other cores being busy), or two processes share the cores, a spinning thread would
// otherwise hold up the very thread it waits for until its budget ran out (measured on 2
// cores beside a second process: an empty region took 25 us with spin_us = 20 and 50 us
// between regions, 0.06 us with the yield). Returns done().
template <class Done>
bool spin_until(uint32_t spin_us, const Done& done) {
  constexpr uint32_t kSpinsPerClockRead = 32, kSpinsPerYield = 256;
  if (spin_us == 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  for (uint32_t i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % kSpinsPerClockRead == 0) {
      if (std::chrono::steady_clock::now() >= deadline) return done();
      if (i % kSpinsPerYield == 0) ::sched_yield();
    }
  }
}

}  // namespace

WorkerTeam::WorkerTeam(uint32_t helpers, uint32_t spin_us, const cpu_set_t* pin)
    : claim_words_(helpers + 1),
      claims_(std::make_unique<ClaimWord[]>(claim_words_)),
      spin_us_(spin_us),
      pinned_(pin != nullptr) {
  CPU_ZERO(&pin_);
  if (pin != nullptr) pin_ = *pin;
  helpers_.reserve(helpers);
  try {
    active_.store(helpers, std::memory_order_relaxed);
    for (uint32_t i = 0; i < helpers; ++i) helpers_.emplace_back([this, i] { helper_loop(i); });
  } catch (...) {  // a thread could not be started: stop those that were
    stop();
    throw;
  }
}

WorkerTeam::~WorkerTeam() { stop(); }

void WorkerTeam::stop() {
  if (helpers_.empty()) return;
  stop_.store(true, std::memory_order_relaxed);
  // A new value of published_ (release: a helper that sees it sees stop_): spinning helpers
  // leave their loop, and a helper about to sleep finds the word changed. Inactive helpers
  // wake to a changed active_.
  published_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(published_, INT_MAX);
  active_.store(kClosed, std::memory_order_seq_cst);
  futex_wake(active_, INT_MAX);
  for (std::thread& helper : helpers_) helper.join();
  helpers_.clear();
}

void WorkerTeam::run(size_t items, Task task, void* context) {
  if (items == 0) return;
  if (items == 1 || helpers_.empty()) {
    for (size_t i = 0; i < items; ++i) task(context, i);
    return;
  }
  if (items <= kMaxRegionItems) {
    run_region(uint32_t(items), task, context);
    return;
  }
  // More items than a region can number: one region per range of them.
  struct Range {
    Task task;
    void* context;
    size_t base;
  } range{task, context, 0};
  const Task shifted = [](void* c, size_t i) {
    const Range& r = *static_cast<const Range*>(c);
    r.task(r.context, r.base + i);
  };
  for (; range.base < items; range.base += kMaxRegionItems) {
    run_region(uint32_t(std::min(kMaxRegionItems, items - range.base)), shifted, &range);
  }
}

void WorkerTeam::set_active_helpers(uint32_t helpers) {
  helpers = std::min(helpers, uint32_t(helpers_.size()));
  const uint32_t before = active_.exchange(helpers, std::memory_order_seq_cst);
  if (helpers > before) futex_wake(active_, INT_MAX);
}

namespace {

// The first item of home range r of `ranges` over `items` items.
uint32_t range_begin(uint32_t r, uint32_t items, uint32_t ranges) { return uint32_t(uint64_t{r} * items / ranges); }

}  // namespace

void WorkerTeam::run_region(uint32_t items, Task task, void* context) {
  const uint32_t epoch = ++epoch_;
  const uint64_t open = uint64_t(epoch) << 32;
  const uint32_t words = claim_words_, ranges = std::min(active_threads(), items);
  for (uint32_t r = 0; r < words; ++r) claims_[r].word.store(open | kClosed, std::memory_order_relaxed);
  task_.store(task, std::memory_order_release);
  context_.store(context, std::memory_order_release);
  items_.store(items, std::memory_order_release);
  ranges_.store(ranges, std::memory_order_release);
  remaining_.store(items, std::memory_order_relaxed);
  for (uint32_t r = 0; r < ranges; ++r) {
    claims_[r].word.store(open | range_begin(r, items, ranges), std::memory_order_release);
  }
  published_.store(epoch, std::memory_order_seq_cst);
  if (const uint32_t asleep = sleepers_.load(std::memory_order_seq_cst)) {
    futex_wake(published_, int(std::min(asleep, items - 1)));
  }

  const auto start = std::chrono::steady_clock::now();
  const uint32_t mine = claim_and_run(0);
  const bool finished = mine == 0 ? remaining_.load(std::memory_order_acquire) == 0
                                  : remaining_.fetch_sub(mine, std::memory_order_acq_rel) == mine;
  if (finished) return;
  // Waiting for items that helpers claimed: about one item's time at most, unless the OS took
  // a helper's core in the middle of one.
  const auto waiting = std::chrono::steady_clock::now();
  leader_wait();
  const auto waited = std::chrono::steady_clock::now() - waiting;
  const auto item = (waiting - start) / std::max(mine, 1u);
  if (waited > 3 * item + std::chrono::microseconds(200)) stalled_ = true;
}

uint32_t WorkerTeam::claim_and_run(uint32_t home) {
  const bool leader = home == 0;  // the leader counts its items off remaining_ at the end
  const uint32_t words = claim_words_;
  uint32_t ran = 0;
  for (uint32_t k = 0; k < words; ++k) {
    std::atomic<uint64_t>& claim = claims_[(home + k) % words].word;
    const uint32_t r = (home + k) % words;
    uint64_t c = claim.load(std::memory_order_acquire);
    for (;;) {
      const uint32_t next = uint32_t(c);
      const uint32_t items = items_.load(std::memory_order_acquire);
      const uint32_t ranges = ranges_.load(std::memory_order_acquire);
      // Nothing left in this range (kClosed exceeds every end), or fields of a newer region
      // than the word: in both cases the range is left to the others.
      if (r >= ranges || next >= range_begin(r + 1, items, ranges)) break;
      const Task task = task_.load(std::memory_order_acquire);
      void* const context = context_.load(std::memory_order_acquire);
      if (!claim.compare_exchange_weak(c, c + 1, std::memory_order_acquire, std::memory_order_acquire)) continue;
      task(context, next);
      ++ran;
      if (!leader && remaining_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          leader_asleep_.load(std::memory_order_seq_cst) != 0) {
        futex_wake(remaining_, 1);
      }
      c = claim.load(std::memory_order_acquire);
    }
  }
  return ran;
}

void WorkerTeam::leader_wait() {
  if (spin_until(spin_us_, [this] { return remaining_.load(std::memory_order_acquire) == 0; })) return;
  leader_asleep_.store(1, std::memory_order_seq_cst);
  for (uint32_t left; (left = remaining_.load(std::memory_order_seq_cst)) != 0;) futex_wait(remaining_, left);
  leader_asleep_.store(0, std::memory_order_relaxed);
}

void WorkerTeam::rest() { rest_.store(epoch_, std::memory_order_relaxed); }

void WorkerTeam::helper_loop(uint32_t index) {
  if (pinned_) ::pthread_setaffinity_np(::pthread_self(), sizeof pin_, &pin_);
  for (;;) {
    const uint32_t seen = published_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    // An inactive helper sleeps on active_ (no spinning, no wake-ups meant for active ones)
    // until the count includes it again or the team stops.
    const uint32_t active = active_.load(std::memory_order_seq_cst);
    if (index >= active) {
      if (active == kClosed) return;
      futex_wait(active_, active);
      continue;
    }
    claim_and_run(index + 1);
    idle_wait(seen);
  }
}

void WorkerTeam::idle_wait(uint32_t seen) {
  const auto woken = [this, seen] { return published_.load(std::memory_order_acquire) != seen; };
  // rest() ends the spin early; it is read every iteration, like the epoch, on the same line.
  const uint32_t budget = rest_.load(std::memory_order_relaxed) == seen ? 0 : spin_us_;
  if (spin_until(budget, [&] { return woken() || rest_.load(std::memory_order_relaxed) == seen; }) && woken()) {
    return;
  }
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  while (published_.load(std::memory_order_seq_cst) == seen) futex_wait(published_, seen);
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace pfrt::cpu
