// The cpu backend against the reference backend on random models of several shapes (both
// residual forms, both GELUs, cls/mean pooling, with and without output projection, merge
// weights, several blocks per branch), batches 1 and 3, every prefix with threads 1 and 2, the
// first and the full prefix with threads 3 and 8.
// Tolerance: max |cpu - reference| <= 1e-4 * max(1, max |reference|) (as the PyTorch parity
// test). Results must also be bitwise identical across thread counts and across sessions.
// Also: describe(), pinning, and the packed weights shared by a model's sessions.
#include <doctest/doctest.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_session.hpp"
#include "cpu/kernels/kernels.hpp"
#include "error.hpp"
#include "model/model.hpp"
#include "session/session.hpp"
#include "support/model_cases.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

TEST_CASE("cpu backend equals the reference on every shape, batch, prefix and thread count") {
  for (const test::ShapeCase& k : test::shape_cases()) {
    CAPTURE(k.name);
    const auto model = test::make_model(k.config, 7);
    core::Session reference(model, {"reference", 1, 0});
    for (const size_t batch : {1, 3}) {
      CAPTURE(batch);
      const std::vector<float> input = test::random_floats(batch * k.config.image_floats(), uint32_t(batch));
      std::vector<std::vector<float>> want;
      for (uint32_t p = 1; p <= k.config.branches; ++p) want.push_back(test::run_logits(reference, input, p));
      std::vector<std::vector<float>> first;  // the 1-thread results, for bitwise comparison
      for (const int32_t threads : {1, 2, 3, 8}) {
        CAPTURE(threads);
        core::Session cpu(model, {"cpu", threads, 0});
        for (uint32_t p = 1; p <= k.config.branches; ++p) {
          if (threads > 2 && p != 1 && p != k.config.branches) continue;  // keep the suite fast
          CAPTURE(p);
          const std::vector<float> got = test::run_logits(cpu, input, p);
          CHECK(test::relative_error(got, want[p - 1]) <= 1e-4);
          if (threads == 1) {
            first.push_back(got);
          } else {
            CHECK(got == first[p - 1]);
          }
        }
        CHECK(test::run_logits(cpu, input) == first.back());  // all branches, asked as 0
      }
    }
  }
}

TEST_CASE("cpu backend: a session serves a larger batch, then smaller ones, unchanged") {
  const test::ShapeCase k = test::shape_cases()[1];
  const auto model = test::make_model(k.config, 9);
  core::Session cpu(model, {"cpu", 2, 0});
  const std::vector<float> one = test::random_floats(k.config.image_floats(), 3);
  const std::vector<float> alone = test::run_logits(cpu, one);
  std::vector<float> four = test::random_floats(4 * k.config.image_floats(), 4);
  std::copy(one.begin(), one.end(), four.begin() + 2 * long(one.size()));
  const std::vector<float> batched = test::run_logits(cpu, four);
  CHECK(std::vector<float>(batched.begin() + 2 * k.config.classes, batched.begin() + 3 * k.config.classes) == alone);
  CHECK(test::run_logits(cpu, one) == alone);
}

TEST_CASE("cpu backend: sessions over one model on several threads give identical results") {
  const test::ShapeCase k = test::shape_cases()[3];
  const auto model = test::make_model(k.config, 13);
  const std::vector<float> input = test::random_floats(2 * k.config.image_floats(), 5);
  core::Session alone(model, {"cpu", 1, 0});
  const std::vector<float> expected = test::run_logits(alone, input);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads * 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      core::Session s(model, {"cpu", 1 + t % 2, 0});
      for (int i = 0; i < 3; ++i) results[size_t(t * 3 + i)] = test::run_logits(s, input);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::vector<float>& r : results) CHECK(r == expected);
}

TEST_CASE("cpu backend: the per-stage profile accounts for every operation of the run") {
  for (const test::ShapeCase& k : test::shape_cases()) {
    CAPTURE(k.name);
    const auto model = test::make_model(k.config, 17);
    core::Session s(model, {"cpu", 2, 0});
    const std::vector<float> input = test::random_floats(2 * k.config.image_floats(), 18);
    for (const uint32_t prefix : {1u, k.config.branches}) {
      test::run_logits(s, input, prefix);
      const core::RunProfile& p = s.last_profile();
      uint64_t flops = 0;
      for (const uint64_t f : p.stage_flops) flops += f;
      CHECK(flops == 2 * format::operation_count(k.config).total(prefix));
      for (size_t kind = 0; kind < p.stage_ms.size(); ++kind) {
        CHECK(p.stage_ms[kind] >= 0.0);
        if (p.stage_flops[kind] > 0) CHECK(p.stage_ms[kind] > 0.0);  // timed wherever work was done
      }
    }
  }
}

TEST_CASE("cpu backend: describe names the threads, the split, the ISA, the spin budget and the shared weights") {
  auto c = test::tiny_config();
  c.branches = 3;
  const auto model = test::make_model(c, 3);
  core::Session s(model, {"cpu", 2, 0});
  const std::string text = s.describe();
  CAPTURE(text);
  CHECK(text.find("2 threads") != std::string::npos);
  CHECK(text.find("2 branch slots x 1 thread") != std::string::npos);
  CHECK(text.find("3 branches queued in index order") != std::string::npos);
  CHECK(text.find(std::string("(") + cpu::kernels::kernel_isa() + ")") != std::string::npos);
  CHECK(text.find("spin " + std::to_string(core::kDefaultSpinUs) + " us") != std::string::npos);
  CHECK(text.find("shared") != std::string::npos);
  core::Session never(model, {"cpu", 2, 0, 0});
  CHECK(never.describe().find("spin 0 us") != std::string::npos);
}

TEST_CASE("cpu backend: an affinity mask pins the run and leaves the caller as it was") {
  const auto model = test::make_model(test::tiny_config(), 3);
  const std::vector<float> input = test::random_floats(784, 8);
  core::Session plain(model, {"cpu", 2, 0});
  const std::vector<float> expected = test::run_logits(plain, input);

  cpu_set_t before;
  CPU_ZERO(&before);
  REQUIRE(sched_getaffinity(0, sizeof before, &before) == 0);
  int first_cpu = 0;
  while (!CPU_ISSET(first_cpu, &before)) ++first_cpu;
  REQUIRE(first_cpu < 64);
  core::Session pinned(model, {"cpu", 2, uint64_t{1} << first_cpu});
  CHECK(pinned.describe().find("pinned to") != std::string::npos);
  CHECK(test::run_logits(pinned, input) == expected);
  cpu_set_t after;
  CPU_ZERO(&after);
  REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK(CPU_EQUAL(&before, &after));
}

TEST_CASE("cpu backend: an affinity mask naming no usable CPU is a clear error") {
  const auto model = test::make_model(test::tiny_config(), 3);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  int unusable = 63;
  while (unusable >= 0 && CPU_ISSET(unusable, &allowed)) --unusable;
  REQUIRE(unusable >= 0);
  try {
    core::Session s(model, {"cpu", 1, uint64_t{1} << unusable});
    FAIL("no error for a mask naming only CPU " << unusable);
  } catch (const core::Error& e) {
    CHECK(e.status() == PFRT_INVALID_ARGUMENT);
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("affinity_mask") != std::string::npos);
    CHECK(what.find("CPUs " + std::to_string(unusable)) != std::string::npos);
  }
}

namespace {

// Resident memory of this process (/proc/self/statm), in bytes.
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * size_t(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("cpu backend: sessions of one model share its packed weights; each adds only its activations") {
  // Weights far larger than activations: 4 branches of D = 192, MLP 768 on 17 tokens.
  format::ModelConfig c = test::deit_tiny_config(4, 1);
  c.image_size = 64;
  const auto model = test::make_model(c, 3);
  const std::vector<float> input = test::random_floats(c.image_floats(), 4);
  std::vector<float> logits(c.classes);
  core::RunProfile profile;
  profile.branch_ms.assign(c.branches, 0.0);
  const auto run = [&](cpu::CpuSession& s) {
    core::RunRequest r{input.data(), 1, c.branches, logits.data()};
    s.run(r, core::RunControl{}, profile);
  };
  core::BackendOptions one_thread;
  one_thread.threads = 1;  // no helper or oneTBB threads: only weights and activations count

  const size_t before = resident_bytes();
  std::vector<std::unique_ptr<cpu::CpuSession>> sessions;
  sessions.push_back(std::make_unique<cpu::CpuSession>(model, one_thread));
  run(*sessions[0]);
  const size_t first = resident_bytes();
  for (int i = 1; i < 4; ++i) {
    sessions.push_back(std::make_unique<cpu::CpuSession>(model, one_thread));
    run(*sessions.back());
  }
  const size_t all = resident_bytes();
  const size_t packed = sessions[0]->packed_bytes(), activations = sessions[0]->arena_bytes();
  INFO("packed weights " << packed << " B, activations " << activations << " B per session; resident +"
                         << (first - before) << " B for the first session, +" << (all - first) << " B for 3 more");
  REQUIRE(packed > 20 * activations);
  CHECK(first - before >= packed);                         // the first session packs the weights
  CHECK(all - first <= 3 * activations + 3 * 256 * 1024);  // the others add their activations (and bookkeeping)
  CHECK(all - first < packed / 2);                         // and no weights: one more copy would be `packed`
  for (const auto& s : sessions) CHECK(s->packed_bytes() == packed);
}
