// cpu/thread_governor.hpp: how many threads a cpu session uses while other processes take its
// cores. Time is simulated: each case feeds run outcomes at chosen instants.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "cpu/thread_governor.hpp"

using pfrt::cpu::ThreadGovernor;
using std::chrono::milliseconds;

namespace {

struct Sim {
  ThreadGovernor g;
  ThreadGovernor::Clock::time_point now{};
  explicit Sim(uint32_t threads) : g(threads) {}
  // A run of `ms` that stalled or not; returns the threads the next run gets.
  uint32_t run(bool stalled, int ms = 1) {
    now += milliseconds(ms);
    g.after_run(stalled, now);
    return g.threads();
  }
};

}  // namespace

TEST_CASE("undisturbed runs keep every thread") {
  Sim s(4);
  for (int i = 0; i < 1000; ++i) CHECK(s.run(false) == 4);
  CHECK(s.g.stalls() == 0);
  CHECK(s.g.reduced_runs() == 0);
}

TEST_CASE("a lone stall changes nothing; a second within the window halves the threads") {
  Sim s(4);
  CHECK(s.run(true) == 4);
  for (uint64_t i = 0; i < ThreadGovernor::kStallWindow; ++i) CHECK(s.run(false) == 4);
  CHECK(s.run(true) == 4);  // the previous one is out of the window
  CHECK(s.run(false) == 4);
  CHECK(s.run(true) == 2);  // two within the window
  CHECK(s.g.stalls() == 3);
}

TEST_CASE("stalls halve the threads; a trial after the back-off restores them when it runs clean") {
  Sim s(2);
  CHECK(s.run(true) == 2);
  CHECK(s.run(true) == 1);
  for (int i = 0; i < 9; ++i) CHECK(s.run(false) == 1);  // 9 ms: within the first back-off (10 ms)
  CHECK(s.run(false) == 2);                              // 10 ms: a trial on 2 threads
  CHECK(s.run(false) == 2);                              // it ran clean: kept
  for (int i = 0; i < 100; ++i) CHECK(s.run(false) == 2);
  CHECK(s.g.stalls() == 2);
  CHECK(s.g.reduced_runs() == 10);
}

TEST_CASE("trials that stall double the back-off, up to a second; a clean trial resets it") {
  Sim s(2);
  s.run(true);
  CHECK(s.run(true) == 1);
  int expected_gap = 10;
  for (int round = 0; round < 10; ++round) {
    // Count the milliseconds until the next trial.
    int waited = 0;
    while (s.run(false) == 1) ++waited;
    ++waited;
    CHECK(waited == expected_gap);
    CHECK(s.run(true) == 1);  // the trial stalled
    expected_gap = std::min(2 * expected_gap, 1000);
  }
  int waited = 0;
  while (s.run(false) == 1) ++waited;
  CHECK(waited + 1 == 1000);  // capped at a second
  CHECK(s.run(false) == 2);   // this trial ran clean
  s.run(true);
  CHECK(s.run(true) == 1);  // new stalls: back off from the start again
  int again = 0;
  while (s.run(false) == 1) ++again;
  CHECK(again + 1 == 10);
}

TEST_CASE("many threads halve step by step, and come back step by step") {
  Sim s(8);
  CHECK(s.run(true) == 8);
  CHECK(s.run(true) == 4);
  CHECK(s.run(true) == 2);
  CHECK(s.run(true) == 1);
  CHECK(s.run(true) == 1);  // nothing below one
  while (s.run(false) == 1) {
  }
  CHECK(s.g.threads() == 2);
  CHECK(s.run(false) == 2);  // kept
  while (s.run(false) == 2) {
  }
  CHECK(s.g.threads() == 4);
  CHECK(s.run(false) == 4);
  while (s.run(false) == 4) {
  }
  CHECK(s.g.threads() == 8);
  // Threads that are not a power of two come back to all of them.
  Sim odd(6);
  odd.run(true);
  CHECK(odd.run(true) == 3);
  CHECK(odd.run(true) == 1);
  while (odd.run(false) != 2) {
  }
  while (odd.run(false) != 4) {
  }
  while (odd.run(false) != 6) {
  }
  CHECK(odd.run(false) == 6);
}

TEST_CASE("one thread has nothing to give up") {
  Sim s(1);
  for (int i = 0; i < 10; ++i) CHECK(s.run(i % 2 == 0) == 1);
}
