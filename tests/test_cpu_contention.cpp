// A cpu session beside other processes: when one of its threads is held up far longer than
// its share of the work takes, twice in a few runs (here: a branch made to sleep 30 ms, as a
// preempted thread would), the next runs use fewer threads, and all of them again once runs are undisturbed
// for the back-off (cpu/thread_governor.hpp). Results stay exact throughout.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cpu/cpu_session.hpp"
#include "support/model_cases.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

struct Hook {
  std::atomic<int> slow_branch{-1};
  std::mutex lock;
  std::set<std::thread::id> threads;
  static void on_branch(uint32_t branch, void* context) {
    Hook& h = *static_cast<Hook*>(context);
    {
      std::lock_guard<std::mutex> guard(h.lock);
      h.threads.insert(std::this_thread::get_id());
    }
    if (int(branch) == h.slow_branch.load()) std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
};

}  // namespace

TEST_CASE("a run held up by one thread makes the next runs use fewer threads, until runs are undisturbed") {
  format::ModelConfig c = test::tiny_config();
  c.branches = 4;
  const auto model = test::make_model(c, 5);
  core::BackendOptions options;
  options.threads = 2;
  cpu::CpuSession session(model, options);
  const std::vector<float> input = test::random_floats(c.image_floats(), 6);
  std::vector<float> want(c.classes), logits(c.classes);
  Hook hook;
  core::RunControl control;
  control.on_branch_start = &Hook::on_branch;
  control.hook_context = &hook;
  core::RunProfile profile;
  const auto run = [&](std::vector<float>& out) {
    core::RunRequest r{input.data(), 1, c.branches, out.data()};
    std::fill(profile.branch_ms.begin(), profile.branch_ms.end(), 0.0);
    profile.branch_ms.assign(c.branches, 0.0);
    REQUIRE(session.run(r, control, profile).branches_used == c.branches);
  };
  run(want);
  CHECK(session.governor().threads() == 2);

  hook.slow_branch.store(1);  // one branch 30 ms, the others microseconds: a straggler
  run(logits);
  CHECK(logits == want);
  run(logits);
  CHECK(logits == want);
  CHECK(session.governor().threads() == 1);
  CHECK(session.governor().stalls() >= 2);

  // On one thread every branch runs on the caller.
  hook.slow_branch.store(-1);
  {
    std::lock_guard<std::mutex> guard(hook.lock);
    hook.threads.clear();
  }
  run(logits);
  CHECK(logits == want);
  CHECK(hook.threads == std::set<std::thread::id>{std::this_thread::get_id()});

  // Undisturbed for the back-off: a trial on both threads (kept: checked right after it; the
  // runs after it could meet a real hiccup of this machine).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (session.governor().threads() == 1 && std::chrono::steady_clock::now() < until) run(logits);
  CHECK(session.governor().threads() == 2);
  run(logits);
  CHECK(logits == want);
  CHECK(session.governor().threads() == 2);
  CHECK(session.governor().reduced_runs() >= 2);
}
