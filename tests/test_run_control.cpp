// Deadlines, best-prefix answers, cancellation and profiles, on every built-in backend. A test
// hook delays chosen branches so that the outcomes are deterministic, not timing luck.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "backend/backend.hpp"
#include "error.hpp"
#include "model/model.hpp"
#include "session/session.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using core::Clock;
using std::chrono::milliseconds;

namespace {

struct Delay {
  uint32_t slow_branch;  // the branch that sleeps as it starts
  milliseconds sleep;
  core::Session* cancel_from_hook = nullptr;
  std::atomic<int> started{0};
  static void hook(uint32_t branch, void* context) {
    auto* d = static_cast<Delay*>(context);
    d->started.fetch_add(1);
    if (branch != d->slow_branch) return;
    if (d->cancel_from_hook) {
      // Cancel from another thread while this branch is running.
      std::thread([s = d->cancel_from_hook] { s->cancel(); }).join();
    }
    std::this_thread::sleep_for(d->sleep);
  }
};

std::shared_ptr<const core::Model> four_branch_model() {
  auto c = test::tiny_config();
  c.branches = 4;
  const auto bytes = test::model_bytes(c, 5);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

std::vector<std::string> backends() {
  std::vector<std::string> names;
  for (const core::Backend* b : core::builtin_backends()) {
    if (b->unavailable_reason().empty()) names.push_back(b->name());
  }
  return names;
}

std::vector<float> run(core::Session& s, const std::vector<float>& input, const core::RunOptions& o,
                       core::RunOutcome* outcome = nullptr) {
  std::vector<float> logits(input.size() / s.model().config().image_floats() * s.model().config().classes);
  const core::RunOutcome out = s.run(input.data(), input.size(), logits.data(), logits.size(), o);
  if (outcome) *outcome = out;
  return logits;
}

pfrt_status status_of(core::Session& s, const std::vector<float>& input, const core::RunOptions& o) {
  try {
    run(s, input, o);
  } catch (const core::Error& e) {
    return e.status();
  }
  return PFRT_OK;
}

}  // namespace

TEST_CASE("a deadline in best-prefix mode returns the longest finished prefix") {
  const auto model = four_branch_model();
  const auto input = test::random_floats(2 * 784, 3);
  for (const std::string& backend : backends()) {
    CAPTURE(backend);
    core::Session session(model, {backend, 2, 0});
    const std::vector<float> prefix2 = run(session, input, {2});
    // Branch 2 (the third) sleeps far past the budget; branches 0 and 1 take microseconds.
    Delay delay{2, milliseconds(300)};
    session.set_branch_hook(&Delay::hook, &delay);
    core::RunOptions o;
    o.deadline = Clock::now() + milliseconds(100);
    o.best_prefix_on_deadline = true;
    core::RunOutcome outcome;
    const std::vector<float> logits = run(session, input, o, &outcome);
    CHECK(outcome.deadline_reached);
    CHECK(outcome.branches_used == 2);
    CHECK(logits == prefix2);

    // The session is immediately usable, and complete runs are unaffected.
    session.set_branch_hook(nullptr, nullptr);
    core::RunOutcome full;
    run(session, input, {}, &full);
    CHECK(full.branches_used == 4);
    CHECK_FALSE(full.deadline_reached);
  }
}

TEST_CASE("a deadline in fail mode, or before any branch finished, is an error") {
  const auto model = four_branch_model();
  const auto input = test::random_floats(784, 4);
  for (const std::string& backend : backends()) {
    CAPTURE(backend);
    core::Session session(model, {backend, 2, 0});
    const std::vector<float> expected = run(session, input, {});
    Delay delay{1, milliseconds(200)};
    session.set_branch_hook(&Delay::hook, &delay);
    core::RunOptions o;
    o.deadline = Clock::now() + milliseconds(50);
    CHECK(status_of(session, input, o) == PFRT_DEADLINE_EXCEEDED);

    core::RunOptions past;
    past.deadline = Clock::now() - milliseconds(1);
    past.best_prefix_on_deadline = true;
    CHECK(status_of(session, input, past) == PFRT_DEADLINE_EXCEEDED);

    session.set_branch_hook(nullptr, nullptr);
    CHECK(run(session, input, {}) == expected);  // nothing left broken
  }
}

TEST_CASE("cancel from another thread stops the run; the next run is correct") {
  const auto model = four_branch_model();
  const auto input = test::random_floats(784, 6);
  for (const std::string& backend : backends()) {
    CAPTURE(backend);
    core::Session session(model, {backend, 2, 0});
    const std::vector<float> expected = run(session, input, {});
    Delay delay{0, milliseconds(20)};
    delay.cancel_from_hook = &session;
    session.set_branch_hook(&Delay::hook, &delay);
    CHECK(status_of(session, input, {}) == PFRT_CANCELLED);
    session.set_branch_hook(nullptr, nullptr);
    CHECK(run(session, input, {}) == expected);
    session.cancel();  // while idle: no effect on the next run
    CHECK(run(session, input, {}) == expected);
  }
}

TEST_CASE("the profile accounts for every branch that ran") {
  const auto model = four_branch_model();
  const auto input = test::random_floats(784, 7);
  for (const std::string& backend : backends()) {
    CAPTURE(backend);
    core::Session session(model, {backend, 1, 0});
    Delay delay{3, milliseconds(30)};
    session.set_branch_hook(&Delay::hook, &delay);
    run(session, input, {});
    const core::RunProfile& p = session.last_profile();
    REQUIRE(p.branch_ms.size() == 4);
    CHECK(p.branch_ms[3] >= 25.0);  // includes the hook's sleep
    CHECK(p.branch_ms[0] < p.branch_ms[3]);
    CHECK(p.branches_ms >= p.branch_ms[3] * 0.99);
    CHECK(p.stem_ms > 0.0);
    CHECK(p.head_ms > 0.0);
    run(session, input, {1});
    CHECK(session.last_profile().branch_ms[3] == 0.0);  // reset per run; prefix 1 ran branch 0 only
  }
}
