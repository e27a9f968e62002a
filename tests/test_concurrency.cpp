// Many threads over one model, through the public API, on every backend this build can run:
// concurrent sessions give results bit-identical to a single thread; sessions and model
// handles come and go while others run; the model file is deleted or replaced under running
// sessions; cancellation and deadlines arrive from other threads at arbitrary moments and leave
// the session correct. Also run under ThreadSanitizer (the `tsan` preset). No timing is
// asserted: every outcome a race can produce is accepted, and each one is checked.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "output_file.hpp"
#include "pfrt/pfrt.h"
#include "pfrt/pfrt.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 24;
constexpr size_t kBatch = 2;

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (size_t i = 0; const char* name = pfrt_backend_name(i); ++i) {
    if (pfrt_backend_check(name) == PFRT_OK) names.push_back(name);
  }
  return names;
}

format::ModelConfig soak_config() {
  format::ModelConfig c = test::tiny_config();
  c.branches = 4;
  c.blocks_per_branch = 2;
  return c;
}

std::vector<uint8_t> soak_model_bytes(uint32_t seed) { return test::model_bytes(soak_config(), seed); }

// The logits of every prefix 1..B (index k-1) from one session on this thread.
std::vector<std::vector<float>> prefix_logits(const Model& model, const std::string& backend,
                                              const std::vector<float>& input) {
  Session s(model, {backend, 1, 0});
  std::vector<std::vector<float>> out;
  for (uint32_t k = 1; k <= soak_config().branches; ++k) {
    RunOptions o;
    o.branches = k;
    out.push_back(s.run(input, o));
  }
  return out;
}

// Runs `runs` times on its own session, cycling through the prefixes; counts mismatches.
void soak(const Model& model, const std::string& backend, const std::vector<float>& input,
          const std::vector<std::vector<float>>& expected, int runs, std::atomic<int>& mismatches,
          std::atomic<int>& errors) {
  try {
    Session s(model, {backend, 1, 0});
    std::vector<float> logits(kBatch * soak_config().classes);
    for (int i = 0; i < runs; ++i) {
      const uint32_t k = 1 + uint32_t(i) % soak_config().branches;
      RunOptions o;
      o.branches = k;
      s.run(input.data(), input.size(), logits.data(), logits.size(), o);
      if (logits != expected[k - 1]) mismatches.fetch_add(1);
    }
  } catch (const std::exception&) {
    errors.fetch_add(1);
  }
}

// Median wall time of a full run, in microseconds: the scale for cancel and deadline timing.
double run_micros(Session& s, const std::vector<float>& input) {
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    s.run(input);
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return std::max(1.0, times[2]);
}

}  // namespace

TEST_CASE("8 threads with a session each on one model match a single thread bit for bit") {
  const auto bytes = soak_model_bytes(21);
  const Model model = Model::from_buffer(bytes.data(), bytes.size());
  const std::vector<float> input = test::random_floats(kBatch * 784, 22);
  const std::vector<std::string> backends = available_backends();
  REQUIRE(!backends.empty());
  for (const std::string& backend : backends) {
    CAPTURE(backend);
    const auto expected = prefix_logits(model, backend, input);
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] { soak(model, backend, input, expected, kRunsPerThread, mismatches, errors); });
    }
    for (std::thread& t : threads) t.join();
    CHECK(mismatches.load() == 0);
    CHECK(errors.load() == 0);
  }
}

TEST_CASE("sessions and model handles come and go while other sessions run") {
  const auto bytes = soak_model_bytes(23);
  const std::vector<float> input = test::random_floats(kBatch * 784, 24);
  for (const std::string& backend : available_backends()) {
    CAPTURE(backend);
    auto model = std::make_unique<Model>(Model::from_buffer(bytes.data(), bytes.size()));
    const auto expected = prefix_logits(*model, backend, input);
    std::atomic<int> mismatches{0}, errors{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> runners, churners;
    for (int t = 0; t < kThreads / 2; ++t) {
      runners.emplace_back([&, m = *model] { soak(m, backend, input, expected, kRunsPerThread, mismatches, errors); });
    }
    // The caller's handle is released while the runners' copies (and sessions) keep the model.
    model.reset();
    for (int t = 0; t < kThreads / 2; ++t) {
      churners.emplace_back([&] {
        try {
          int cycles = 0;
          while (!done.load() || cycles < 2) {
            // A fresh model handle and a session, used once and dropped, every cycle.
            const Model own = Model::from_buffer(bytes.data(), bytes.size());
            Session s(own, {backend, 1, 0});
            if (s.run(input) != expected.back()) mismatches.fetch_add(1);
            ++cycles;
          }
        } catch (const std::exception&) {
          errors.fetch_add(1);
        }
      });
    }
    for (std::thread& t : runners) t.join();
    done.store(true);
    for (std::thread& t : churners) t.join();
    CHECK(mismatches.load() == 0);
    CHECK(errors.load() == 0);
  }
}

TEST_CASE("the model file deleted, or replaced by an atomic rename, under running sessions") {
  test::TempDir dir;
  const auto old_bytes = soak_model_bytes(25), new_bytes = soak_model_bytes(26);
  const std::string path = dir.write("model.pfrt", old_bytes);
  const std::vector<float> input = test::random_floats(kBatch * 784, 27);
  for (const std::string& backend : available_backends()) {
    CAPTURE(backend);
    convert::write_output_file(path, old_bytes);
    const Model old_model = Model::open(path);
    const auto expected_old = prefix_logits(old_model, backend, input);
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] { soak(old_model, backend, input, expected_old, kRunsPerThread, mismatches, errors); });
    }
    // While they run: delete the file, then put a different model at the same path.
    REQUIRE(::unlink(path.c_str()) == 0);
    pfrt_model* absent = nullptr;
    CHECK(pfrt_model_open(path.c_str(), &absent) == PFRT_IO_ERROR);
    convert::write_output_file(path, new_bytes);
    const Model new_model = Model::open(path);
    const auto expected_new = prefix_logits(new_model, backend, input);
    convert::write_output_file(path, old_bytes);  // and back, under the new model's feet
    Session on_new(new_model, {backend, 1, 0});
    CHECK(on_new.run(input) == expected_new.back());
    for (std::thread& t : threads) t.join();
    CHECK(mismatches.load() == 0);
    CHECK(errors.load() == 0);
    CHECK(expected_new.back() != expected_old.back());  // the premise: the two models differ
  }
}

TEST_CASE("cancel from another thread at arbitrary moments: each run is cancelled or correct, and so is the next") {
  const auto bytes = soak_model_bytes(28);
  const Model model = Model::from_buffer(bytes.data(), bytes.size());
  const std::vector<float> input = test::random_floats(kBatch * 784, 29);
  for (const std::string& backend : available_backends()) {
    CAPTURE(backend);
    const auto expected = prefix_logits(model, backend, input);
    Session session(model, {backend, 1, 0});
    const double micros = run_micros(session, input);
    std::atomic<bool> stop{false};
    std::atomic<int> cancels{0};
    std::thread canceller([&] {
      std::mt19937 rng(7);
      std::uniform_real_distribution<double> pause(0.0, 2.0 * micros);
      while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::duration<double, std::micro>(pause(rng)));
        pfrt_session_cancel(session.get());  // thread-safe by contract, also while idle
        cancels.fetch_add(1);
      }
    });
    std::vector<float> logits(kBatch * soak_config().classes);
    int cancelled = 0, completed = 0, wrong = 0, other = 0, runs = 0;
    // At least 3 x kRunsPerThread runs, and on until the canceller has cancelled (a loaded
    // machine may start it late), for 10 s at most.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (; runs < 3 * kRunsPerThread || (cancels.load() == 0 && std::chrono::steady_clock::now() < give_up); ++runs) {
      const pfrt_status s = pfrt_session_run(session.get(), input.data(), input.size(), logits.data(), logits.size());
      if (s == PFRT_CANCELLED) {
        ++cancelled;
      } else if (s == PFRT_OK) {
        ++completed;
        wrong += logits != expected.back();
      } else {
        ++other;
      }
    }
    stop.store(true);
    canceller.join();
    CHECK(wrong == 0);
    CHECK(other == 0);
    CHECK(cancelled + completed == runs);
    CHECK(cancels.load() > 0);
    // Nothing left broken: the next runs, with nobody cancelling, are complete and correct.
    CHECK(session.run(input) == expected.back());
    RunOptions prefix;
    prefix.branches = 2;
    CHECK(session.run(input, prefix) == expected[1]);
  }
}

TEST_CASE("deadlines that expire at arbitrary moments: a failure, a correct prefix, or the full answer") {
  const auto bytes = soak_model_bytes(30);
  const Model model = Model::from_buffer(bytes.data(), bytes.size());
  const std::vector<float> input = test::random_floats(kBatch * 784, 31);
  for (const std::string& backend : available_backends()) {
    CAPTURE(backend);
    const auto expected = prefix_logits(model, backend, input);
    Session session(model, {backend, 1, 0});
    const double micros = run_micros(session, input);
    std::vector<float> logits(kBatch * soak_config().classes);
    int exceeded = 0, partial = 0, full = 0, wrong = 0;
    for (int i = 0; i < 4 * kRunsPerThread; ++i) {
      pfrt_run_options o;
      pfrt_run_options_init(&o);
      o.budget_ms = 0.001 * micros * (i % 40) / 32.0;  // 0 (none) to 1.2 runs' duration
      o.deadline_mode = i % 2 ? PFRT_DEADLINE_BEST_PREFIX : PFRT_DEADLINE_FAIL;
      pfrt_run_result r{};
      r.struct_size = sizeof(r);
      const pfrt_status s =
          pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(), &o, &r);
      if (s == PFRT_DEADLINE_EXCEEDED) {
        ++exceeded;
        continue;
      }
      REQUIRE_MESSAGE(s == PFRT_OK, pfrt_last_error());
      REQUIRE(r.branches_used >= 1);
      REQUIRE(r.branches_used <= soak_config().branches);
      (r.deadline_reached ? partial : full) += 1;
      wrong += logits != expected[r.branches_used - 1];
      if (o.deadline_mode == PFRT_DEADLINE_FAIL) wrong += r.branches_used != soak_config().branches;
    }
    CHECK(wrong == 0);
    CHECK(exceeded + partial + full == 4 * kRunsPerThread);
    CHECK(session.run(input) == expected.back());
  }
}
