// WorkerTeam, the fork-join team that splits a branch slot's kernels over its threads: every
// item of every region runs exactly once and in its own region, helpers' plain writes are
// visible to the leader after run() (ThreadSanitizer checks the ordering under the `tsan`
// preset), idle helpers sleep (spin_us = 0, the spin budget spent, rest()) and spin while the
// budget lasts, the destructor is prompt either way, and helpers starved of CPU time do not
// stall the leader. Thread states are read from /proc/self/task; timing is only ever bounded
// loosely (a loaded 2-core machine, TSan).
#include <doctest/doctest.h>

#include <dirent.h>
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cpu/affinity.hpp"
#include "cpu/worker_team.hpp"

using pfrt::cpu::WorkerTeam;
using Clock = std::chrono::steady_clock;

namespace {

std::set<pid_t> task_ids() {
  std::set<pid_t> ids;
  DIR* dir = ::opendir("/proc/self/task");
  REQUIRE(dir != nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ids.insert(pid_t(std::atoi(entry->d_name)));
  }
  ::closedir(dir);
  return ids;
}

// A team and the ids of its helper threads (the threads its constructor started).
struct Team {
  std::unique_ptr<WorkerTeam> team;
  std::vector<pid_t> helpers;

  Team(uint32_t helper_count, uint32_t spin_us, const cpu_set_t* pin = nullptr) {
    std::thread([] {}).join();  // ThreadSanitizer starts a thread of its own with the first thread
    const std::set<pid_t> before = task_ids();
    team = std::make_unique<WorkerTeam>(helper_count, spin_us, pin);
    for (pid_t id : task_ids()) {
      if (before.count(id) == 0) helpers.push_back(id);
    }
    REQUIRE(helpers.size() == helper_count);
  }
};

// The state letter of /proc/self/task/<id>/stat (R running or runnable, S sleeping, ...).
char thread_state(pid_t id) {
  std::ifstream in("/proc/self/task/" + std::to_string(id) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may contain anything
  REQUIRE(paren != std::string::npos);
  REQUIRE(paren + 2 < stat.size());
  return stat[paren + 2];
}

// A field of /proc/self/task/<id>/status ("voluntary_ctxt_switches", "Cpus_allowed_list").
std::string status_field(pid_t id, const std::string& name) {
  std::ifstream in("/proc/self/task/" + std::to_string(id) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, name.size() + 1, name + ":") == 0) {
      const size_t value = line.find_first_not_of(" \t", name.size() + 1);
      return value == std::string::npos ? std::string() : line.substr(value);
    }
  }
  FAIL("no " << name << " in /proc/self/task/" << id << "/status");
  return {};
}

long context_switches(const std::vector<pid_t>& ids) {
  long total = 0;
  for (pid_t id : ids) {
    total += std::stol(status_field(id, "voluntary_ctxt_switches")) +
             std::stol(status_field(id, "nonvoluntary_ctxt_switches"));
  }
  return total;
}

bool all_in_state(const std::vector<pid_t>& ids, char state) {
  return std::all_of(ids.begin(), ids.end(), [&](pid_t id) { return thread_state(id) == state; });
}

// Polls `done` every millisecond for up to `limit`; returns whether it became true.
template <class F>
bool eventually(std::chrono::milliseconds limit, const F& done) {
  const auto end = Clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool all_asleep(const std::vector<pid_t>& ids) {
  return eventually(std::chrono::milliseconds(2000), [&] { return all_in_state(ids, 'S'); });
}

// One region's bookkeeping: how often each item ran, and calls that arrived with an item
// outside the region (a claim that mixed two regions).
struct Counts {
  size_t items = 0;
  std::vector<std::atomic<uint32_t>> runs;
  std::atomic<uint32_t> out_of_range{0};
};

void count_item(void* context, size_t item) {
  Counts& c = *static_cast<Counts*>(context);
  if (item < c.items) {
    c.runs[item].fetch_add(1, std::memory_order_relaxed);
  } else {
    c.out_of_range.fetch_add(1, std::memory_order_relaxed);
  }
}

// A second task, so that consecutive regions differ in task as well as context and count.
void count_item_twice(void* context, size_t item) {
  Counts& c = *static_cast<Counts*>(context);
  if (item < c.items) {
    c.runs[item].fetch_add(2, std::memory_order_relaxed);
  } else {
    c.out_of_range.fetch_add(1, std::memory_order_relaxed);
  }
}

// Runs `regions` regions, alternating between two contexts and two tasks; `items_of(r)` is
// region r's item count. After each region every item of it must have run exactly once and
// the other context must be untouched. Returns the number of regions that were wrong.
template <class ItemsOf>
int count_regions(WorkerTeam& team, int regions, const ItemsOf& items_of, size_t max_items) {
  Counts contexts[2];
  for (Counts& c : contexts) c.runs = std::vector<std::atomic<uint32_t>>(max_items);
  int wrong = 0;
  for (int r = 0; r < regions; ++r) {
    Counts& c = contexts[r % 2];
    const Counts& other = contexts[1 - r % 2];
    c.items = items_of(r);
    const bool twice = (r / 2) % 2 == 1;
    team.run(c.items, twice ? count_item_twice : count_item, &c);
    bool ok =
        c.out_of_range.load(std::memory_order_relaxed) == 0 && other.out_of_range.load(std::memory_order_relaxed) == 0;
    const uint32_t expected = twice ? 2 : 1;
    for (size_t i = 0; i < max_items; ++i) {
      ok = ok && c.runs[i].load(std::memory_order_relaxed) == (i < c.items ? expected : 0) &&
           other.runs[i].load(std::memory_order_relaxed) == 0;
      c.runs[i].store(0, std::memory_order_relaxed);
    }
    if (!ok) ++wrong;
  }
  return wrong;
}

// Few regions of many items, many regions of few: each case stays short under TSan.
int regions_for(size_t items) { return int(std::clamp<size_t>(40000 / std::max<size_t>(items, 1), 50, 2000)); }

void check_exactly_once(uint32_t spin_us) {
  for (uint32_t helpers : {0u, 1u, 2u, 3u, 7u}) {
    // 7 helpers spinning on 2 cores leave the leader a fraction of one: fewer regions.
    const int scale = helpers > 2 && spin_us > 0 ? 4 : 1;
    for (size_t items : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(7), size_t(64), size_t(1000)}) {
      CAPTURE(helpers);
      CAPTURE(items);
      WorkerTeam team(helpers, spin_us);
      CHECK(team.threads() == helpers + 1);
      CHECK(team.spin_us() == spin_us);
      CHECK(count_regions(
                team, regions_for(items) / scale, [&](int) { return items; }, items) == 0);
    }
  }
}

// The first CPU this process may run on, as a set of one.
cpu_set_t one_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      return one;
    }
  }
  FAIL("no CPU in this process's affinity mask");
  return allowed;
}

// Helpers write plain memory per item, which the leader reads after run(); the leader writes
// the input before run(), which helpers read.
struct Scale {
  const float* in;
  float* out;
  float offset;
};

void scale_item(void* context, size_t item) {
  const Scale& s = *static_cast<const Scale*>(context);
  s.out[item] = 2.0f * s.in[item] + s.offset;
}

}  // namespace

TEST_CASE("worker team: every item runs exactly once, in its own region (spin_us = 0)") { check_exactly_once(0); }

TEST_CASE("worker team: every item runs exactly once, in its own region (spin_us = 50)") { check_exactly_once(50); }

TEST_CASE("worker team: every item runs exactly once, in its own region (spin_us = 1000)") { check_exactly_once(1000); }

TEST_CASE("worker team: consecutive regions of different sizes, tasks and contexts do not mix") {
  // A helper that read region E's claim word and then region E+1's item count must not claim.
  static const size_t kSizes[] = {2, 64, 3, 1, 7, 2, 0, 300, 2, 5, 3, 2};
  const size_t count = sizeof kSizes / sizeof kSizes[0];
  for (uint32_t spin_us : {0u, 50u}) {
    for (uint32_t helpers : {1u, 3u}) {
      CAPTURE(spin_us);
      CAPTURE(helpers);
      WorkerTeam team(helpers, spin_us);
      CHECK(count_regions(
                team, 3000, [&](int r) { return kSizes[size_t(r) % count]; }, 300) == 0);
    }
  }
}

TEST_CASE("worker team: helpers' plain writes are visible to the leader after run()") {
  const size_t kItems = 257;
  std::vector<float> in(kItems), out(kItems);
  for (uint32_t spin_us : {0u, 50u}) {
    WorkerTeam team(3, spin_us);
    int wrong = 0;
    for (int r = 0; r < 500; ++r) {
      for (size_t i = 0; i < kItems; ++i) in[i] = float(i + size_t(r));
      Scale s{in.data(), out.data(), float(r)};
      team.run(kItems, scale_item, &s);
      for (size_t i = 0; i < kItems; ++i) wrong += out[i] != 2.0f * float(i + size_t(r)) + float(r);
    }
    CHECK(wrong == 0);
    // for_each runs a callable; items is a size_t.
    std::vector<size_t> squares(100);
    team.for_each(squares.size(), [&](size_t i) { squares[i] = i * i; });
    for (size_t i = 0; i < squares.size(); ++i) CHECK(squares[i] == i * i);
  }
}

TEST_CASE("worker team: helpers take part in regions") {
  // Items slow enough for a woken helper to arrive before the leader has claimed them all.
  for (uint32_t spin_us : {0u, 1000u}) {
    CAPTURE(spin_us);
    WorkerTeam team(2, spin_us);
    const std::thread::id leader = std::this_thread::get_id();
    std::atomic<int> off_leader{0};
    auto item = [&](size_t) {
      const auto end = Clock::now() + std::chrono::microseconds(20);
      while (Clock::now() < end) {
      }
      if (std::this_thread::get_id() != leader) off_leader.fetch_add(1, std::memory_order_relaxed);
    };
    CHECK(eventually(std::chrono::milliseconds(3000), [&] {
      team.for_each(64, item);
      return off_leader.load() > 0;
    }));
  }
}

TEST_CASE("worker team: each thread starts on its own range of items (the leader's first)") {
  // 3 threads, 10 items: home ranges [0, 3), [3, 6), [6, 10). Each thread's first item waits
  // until every thread holds one, so none can take another's range before claiming its own.
  for (uint32_t spin_us : {0u, 1000u}) {
    CAPTURE(spin_us);
    WorkerTeam team(2, spin_us);
    const std::thread::id leader = std::this_thread::get_id();
    std::mutex mutex;
    std::vector<std::pair<std::thread::id, size_t>> firsts;
    std::set<std::thread::id> seen;
    std::atomic<int> arrived{0};
    bool all_arrived = true;
    team.for_each(10, [&](size_t item) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!seen.insert(std::this_thread::get_id()).second) return;
        firsts.emplace_back(std::this_thread::get_id(), item);
      }
      arrived.fetch_add(1);
      const auto give_up = Clock::now() + std::chrono::seconds(20);  // a starved helper: no verdict
      while (arrived.load() < 3 && Clock::now() < give_up) std::this_thread::yield();
      if (arrived.load() < 3) all_arrived = false;
    });
    if (!all_arrived) continue;
    REQUIRE(firsts.size() == 3);
    std::vector<size_t> helper_firsts;
    for (const auto& [thread, item] : firsts) {
      if (thread == leader) CHECK(item == 0);
      else helper_firsts.push_back(item);
    }
    std::sort(helper_firsts.begin(), helper_firsts.end());
    CHECK(helper_firsts == std::vector<size_t>{3, 6});
  }
}

TEST_CASE("worker team: no items, one item, or no helpers run on the caller and leave the helpers asleep") {
  Team t(2, 0);
  std::vector<std::thread::id> ran_on;
  auto record = [&](size_t) { ran_on.push_back(std::this_thread::get_id()); };

  t.team->for_each(0, record);
  CHECK(ran_on.empty());

  REQUIRE(all_asleep(t.helpers));  // helpers start asleep
  const long switches = context_switches(t.helpers);
  for (int r = 0; r < 200; ++r) {
    t.team->for_each(1, record);
    t.team->for_each(0, record);
  }
  CHECK(ran_on.size() == 200);
  CHECK(std::all_of(ran_on.begin(), ran_on.end(), [](std::thread::id id) { return id == std::this_thread::get_id(); }));
  CHECK(all_in_state(t.helpers, 'S'));
  CHECK(context_switches(t.helpers) == switches);  // not woken once

  // The measure can tell: a region of several items wakes the sleeping helpers.
  std::atomic<int> calls{0};
  t.team->for_each(64, [&](size_t) { calls.fetch_add(1, std::memory_order_relaxed); });
  CHECK(calls.load() == 64);
  REQUIRE(all_asleep(t.helpers));
  CHECK(context_switches(t.helpers) > switches);

  WorkerTeam alone(0, 1000);
  CHECK(alone.threads() == 1);
  ran_on.clear();
  alone.for_each(50, record);
  CHECK(ran_on.size() == 50);
  CHECK(std::all_of(ran_on.begin(), ran_on.end(), [](std::thread::id id) { return id == std::this_thread::get_id(); }));
}

TEST_CASE("worker team: idle helpers sleep with spin_us = 0, spin while the budget lasts, and sleep after rest()") {
  std::atomic<int> calls{0};
  auto count = [&](size_t) { calls.fetch_add(1, std::memory_order_relaxed); };

  SUBCASE("spin_us = 0: asleep after each region") {
    Team t(3, 0);
    CHECK(all_asleep(t.helpers));
    for (int r = 0; r < 3; ++r) {
      t.team->for_each(64, count);
      CHECK(all_asleep(t.helpers));
    }
  }

  SUBCASE("spin_us = 200000: running just after a region, asleep once the budget is spent") {
    Team t(2, 200000);
    REQUIRE(all_asleep(t.helpers));
    // A sample counts only when taken within 100 ms of the region's end (the helpers spin for
    // 200 ms after it); on a machine too loaded for that, try again.
    bool sampled = false;
    for (int attempt = 0; attempt < 5 && !sampled; ++attempt) {
      t.team->for_each(64, count);
      const auto end = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const bool running =
          std::any_of(t.helpers.begin(), t.helpers.end(), [](pid_t id) { return thread_state(id) == 'R'; });
      if (Clock::now() - end > std::chrono::milliseconds(100)) continue;
      sampled = true;
      CHECK(running);
    }
    CHECK(sampled);
    CHECK(all_asleep(t.helpers));
  }

  SUBCASE("rest(): asleep at once although the budget is 10 s") {
    Team t(3, 10000000);
    for (int r = 0; r < 3; ++r) {
      t.team->for_each(64, count);
      t.team->rest();
      CHECK(eventually(std::chrono::milliseconds(1000), [&] { return all_in_state(t.helpers, 'S'); }));
    }
  }
  CHECK(calls.load() % 64 == 0);
}

TEST_CASE("worker team: the destructor returns promptly with helpers asleep, spinning, or just started") {
  auto destroy_time = [](std::unique_ptr<WorkerTeam>& team) {
    const auto start = Clock::now();
    team.reset();
    return Clock::now() - start;
  };
  auto touch = [](size_t) {};
  const auto limit = std::chrono::seconds(1);

  Team asleep(3, 0);
  asleep.team->for_each(64, touch);
  REQUIRE(all_asleep(asleep.helpers));
  CHECK(destroy_time(asleep.team) < limit);

  Team spinning(3, 10000000);
  spinning.team->for_each(64, touch);
  CHECK(destroy_time(spinning.team) < limit);

  for (uint32_t spin_us : {0u, 10000000u}) {
    auto fresh = std::make_unique<WorkerTeam>(7, spin_us);
    CHECK(destroy_time(fresh) < limit);
  }
}

TEST_CASE("worker team: helpers are pinned when asked, and starved helpers do not stall the leader") {
  const cpu_set_t cpu = one_cpu();
  std::string cpu_name;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &cpu)) cpu_name = std::to_string(c);
  }
  const size_t kItems = 16;
  std::vector<float> in(kItems), out(kItems);
  auto regions_ok = [&](WorkerTeam& team, int regions) {
    int wrong = 0;
    for (int r = 0; r < regions; ++r) {
      for (size_t i = 0; i < kItems; ++i) in[i] = float(i * size_t(r));
      Scale s{in.data(), out.data(), 1.0f};
      team.run(kItems, scale_item, &s);
      for (size_t i = 0; i < kItems; ++i) wrong += out[i] != 2.0f * float(i * size_t(r)) + 1.0f;
    }
    return wrong == 0;
  };

  SUBCASE("leader and 3 spinning helpers on one CPU") {
    Team t(3, 1000, &cpu);
    for (pid_t id : t.helpers) {
      CHECK(eventually(std::chrono::milliseconds(1000),
                       [&] { return status_field(id, "Cpus_allowed_list") == cpu_name; }));
    }
    pfrt::cpu::ScopedAffinity pinned(true, cpu);
    const auto start = Clock::now();
    CHECK(regions_ok(*t.team, 300));
    // A leader that waited for helpers to run would take a time slice per region.
    CHECK(Clock::now() - start < std::chrono::seconds(5));
  }

  SUBCASE("helpers that get almost no CPU (SCHED_IDLE beside a busy thread on their CPU)") {
    // A leader that needed its helpers in every region would wait for them each time, and
    // they run only when their CPU has nothing else to do: about never.
    Team t(3, 1000);
    pfrt::cpu::ScopedAffinity pinned(true, cpu);
    std::atomic<bool> busy{true};
    std::thread hog([&] {
      pfrt::cpu::ScopedAffinity hog_pinned(true, cpu);
      while (busy.load(std::memory_order_relaxed)) {
      }
    });
    bool idle = true;
    for (pid_t id : t.helpers) {
      const sched_param param{};
      cpu_set_t set = cpu;
      idle =
          idle && ::sched_setaffinity(id, sizeof set, &set) == 0 && ::sched_setscheduler(id, SCHED_IDLE, &param) == 0;
    }
    if (idle) {
      const auto start = Clock::now();
      CHECK(regions_ok(*t.team, 500));
      CHECK(Clock::now() - start < std::chrono::seconds(3));
    } else {
      MESSAGE("skipped: cannot make the helpers SCHED_IDLE here");
    }
    busy.store(false, std::memory_order_relaxed);
    hog.join();
    for (pid_t id : t.helpers) {  // so that they exit promptly on a busy machine (may be refused)
      const sched_param param{};
      ::sched_setscheduler(id, SCHED_OTHER, &param);
    }
  }

  SUBCASE("7 helpers with spin_us = 0, and a region per wake-up") {
    WorkerTeam team(7, 0);
    CHECK(regions_ok(team, 1000));
  }
}

TEST_CASE("inactive helpers take no item and sleep; raising the count brings them back") {
  Team t(3, 100000);  // helpers would spin for 0.1 s if they were active
  t.team->set_active_helpers(1);
  CHECK(t.team->active_threads() == 2);
  std::set<std::thread::id> seen;
  std::atomic<uint32_t> busy{0};
  std::mutex lock;
  const auto record = [&](size_t) {
    busy.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // long enough for every awake helper to join
    std::lock_guard<std::mutex> guard(lock);
    seen.insert(std::this_thread::get_id());
  };
  for (int region = 0; region < 20; ++region) t.team->for_each(16, record);
  CHECK(seen.size() <= 2);  // the leader and one helper at most
  CHECK(busy.load() == 20u * 16u);
  // Two of the three helpers are inactive: asleep although the spin budget is long.
  const auto asleep = [&] {
    return std::count_if(t.helpers.begin(), t.helpers.end(), [](pid_t id) { return thread_state(id) == 'S'; }) >= 2;
  };
  CHECK(eventually(std::chrono::milliseconds(2000), asleep));
  t.team->set_active_helpers(0);
  seen.clear();
  for (int region = 0; region < 5; ++region) t.team->for_each(8, record);
  CHECK(seen.size() == 1);
  CHECK(*seen.begin() == std::this_thread::get_id());
  t.team->set_active_helpers(99);  // clamped to the team's three
  CHECK(t.team->active_helpers() == 3);
  seen.clear();
  for (int region = 0; region < 50 && seen.size() < 2; ++region) t.team->for_each(16, record);
  CHECK(seen.size() >= 2);  // helpers take part again
}

TEST_CASE("a helper that holds the leader up far longer than items take is reported as a stall, once") {
  Team t(1, 1000);
  std::atomic<bool> slow{false};
  const std::thread::id leader = std::this_thread::get_id();
  const auto item = [&](size_t) {
    // Items of 50 us (long enough for the helper to claim some); a helper's item of 20 ms
    // when `slow`: the helper lost its core in the middle of it.
    if (slow.load() && std::this_thread::get_id() != leader) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return;
    }
    const auto end = Clock::now() + std::chrono::microseconds(50);
    while (Clock::now() < end) {
    }
  };
  for (int region = 0; region < 10; ++region) t.team->for_each(8, item);
  t.team->take_stall();  // (50 us items: no stall, unless this loaded machine preempted the helper)
  slow.store(true);
  bool stalled = false;
  // The helper may not claim an item in a given region; within a few it does.
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (!stalled && Clock::now() < give_up) {
    t.team->for_each(8, item);
    stalled = t.team->take_stall();
  }
  CHECK(stalled);
  CHECK_FALSE(t.team->take_stall());  // taking it clears it
}
