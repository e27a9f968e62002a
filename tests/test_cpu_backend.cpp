// The cpu backend against the reference backend on random models of several shapes (both
// residual forms, both GELUs, cls/mean pooling, with and without output projection, merge
// weights, several blocks per branch), batches 1 and 3, every prefix with threads 1 and 2, the
// first and the full prefix with threads 3 and 8.
// Tolerance: max |cpu - reference| <= 1e-4 * max(1, max |reference|) (as the PyTorch parity
// test). Results must also be bitwise identical across thread counts and across sessions.
#include <doctest/doctest.h>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu/planner.hpp"
#include "error.hpp"
#include "model/model.hpp"
#include "session/session.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

struct Case {
  const char* name;
  format::ModelConfig config;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"tiny: cls, authors' residual, erf", test::tiny_config()});

  format::ModelConfig odd = test::tiny_config();  // 3x3 patches of 5x5x3, T = 10
  odd.image_size = 15;
  odd.patch_size = 5;
  odd.channels = 3;
  odd.mean = {0.1f, 0.2f, 0.3f};
  odd.std = {0.5f, 0.6f, 0.7f};
  odd.embed_dim = 20;
  odd.heads = 3;
  odd.head_dim = 7;
  odd.mlp_dim = 37;
  odd.branches = 3;
  odd.blocks_per_branch = 2;
  odd.classes = 7;
  odd.pooling = format::Pooling::kMean;
  odd.residual = format::Residual::kPreNorm;
  odd.gelu = format::Gelu::kTanh;
  odd.merge_weights = {0.5f, -1.25f, 2.0f};
  out.push_back({"odd: mean, prenorm, tanh, merge weights, 2 blocks", odd});

  format::ModelConfig single = test::tiny_config();  // one head spanning D: no output projection
  single.embed_dim = 12;
  single.heads = 1;
  single.head_dim = 12;
  single.branches = 4;
  single.mlp_dim = 24;
  out.push_back({"one head: no output projection, 4 branches", single});

  format::ModelConfig deep = test::tiny_config();  // 9x9 grid: T = 82, heads wider than a tile
  deep.image_size = 36;
  deep.patch_size = 4;
  deep.embed_dim = 48;
  deep.heads = 2;
  deep.head_dim = 33;
  deep.mlp_dim = 64;
  deep.branches = 5;
  deep.blocks_per_branch = 3;
  deep.residual = format::Residual::kPreNorm;
  out.push_back({"deep: cls, prenorm, 3 blocks, 5 branches, T=82", deep});

  format::ModelConfig mean_no_proj = single;
  mean_no_proj.pooling = format::Pooling::kMean;
  mean_no_proj.gelu = format::Gelu::kTanh;
  mean_no_proj.blocks_per_branch = 2;
  mean_no_proj.merge_weights = {1.0f, 0.5f, 0.25f, 0.125f};
  out.push_back({"mean, no projection, 2 blocks, merge weights", mean_no_proj});
  return out;
}

std::shared_ptr<const core::Model> make_model(const format::ModelConfig& c, uint32_t seed) {
  const std::vector<uint8_t> bytes = test::model_bytes(c, seed);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

std::vector<float> run(core::Session& s, const std::vector<float>& input, uint32_t branches = 0) {
  const format::ModelConfig& c = s.model().config();
  std::vector<float> logits(input.size() / c.image_floats() * c.classes);
  core::RunOptions o;
  o.branches = branches;
  s.run(input.data(), input.size(), logits.data(), logits.size(), o);
  return logits;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE("cpu backend equals the reference on every shape, batch, prefix and thread count") {
  for (const Case& k : cases()) {
    CAPTURE(k.name);
    const auto model = make_model(k.config, 7);
    core::Session reference(model, {"reference", 1, 0});
    for (const size_t batch : {1, 3}) {
      CAPTURE(batch);
      const std::vector<float> input = test::random_floats(batch * k.config.image_floats(), uint32_t(batch));
      std::vector<std::vector<float>> want;
      for (uint32_t p = 1; p <= k.config.branches; ++p) want.push_back(run(reference, input, p));
      std::vector<std::vector<float>> first;  // the 1-thread results, for bitwise comparison
      for (const int32_t threads : {1, 2, 3, 8}) {
        CAPTURE(threads);
        core::Session cpu(model, {"cpu", threads, 0});
        for (uint32_t p = 1; p <= k.config.branches; ++p) {
          if (threads > 2 && p != 1 && p != k.config.branches) continue;  // keep the suite fast
          CAPTURE(p);
          const std::vector<float> got = run(cpu, input, p);
          CHECK(relative_error(got, want[p - 1]) <= 1e-4);
          if (threads == 1) {
            first.push_back(got);
          } else {
            CHECK(got == first[p - 1]);
          }
        }
        CHECK(run(cpu, input) == first.back());  // all branches, asked as 0
      }
    }
  }
}

TEST_CASE("cpu backend: a session serves a larger batch, then smaller ones, unchanged") {
  const Case k = cases()[1];
  const auto model = make_model(k.config, 9);
  core::Session cpu(model, {"cpu", 2, 0});
  const std::vector<float> one = test::random_floats(k.config.image_floats(), 3);
  const std::vector<float> alone = run(cpu, one);
  std::vector<float> four = test::random_floats(4 * k.config.image_floats(), 4);
  std::copy(one.begin(), one.end(), four.begin() + 2 * long(one.size()));
  const std::vector<float> batched = run(cpu, four);
  CHECK(std::vector<float>(batched.begin() + 2 * k.config.classes, batched.begin() + 3 * k.config.classes) == alone);
  CHECK(run(cpu, one) == alone);
}

TEST_CASE("cpu backend: sessions over one model on several threads give identical results") {
  const Case k = cases()[3];
  const auto model = make_model(k.config, 13);
  const std::vector<float> input = test::random_floats(2 * k.config.image_floats(), 5);
  core::Session alone(model, {"cpu", 1, 0});
  const std::vector<float> expected = run(alone, input);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads * 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      core::Session s(model, {"cpu", 1 + t % 2, 0});
      for (int i = 0; i < 3; ++i) results[size_t(t * 3 + i)] = run(s, input);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::vector<float>& r : results) CHECK(r == expected);
}

TEST_CASE("cpu backend: describe names the threads, the split and the ISA") {
  auto c = test::tiny_config();
  c.branches = 3;
  const auto model = make_model(c, 3);
  core::Session s(model, {"cpu", 2, 0});
  const std::string text = s.describe();
  CAPTURE(text);
  CHECK(text.find("2 threads") != std::string::npos);
  CHECK(text.find("2 branch slots x 1 thread") != std::string::npos);
  CHECK(text.find("3 branches queued in index order") != std::string::npos);
  CHECK(text.find("XNNPACK") != std::string::npos);
}

TEST_CASE("cpu backend: an affinity mask pins the run and leaves the caller as it was") {
  const auto model = make_model(test::tiny_config(), 3);
  const std::vector<float> input = test::random_floats(784, 8);
  core::Session plain(model, {"cpu", 2, 0});
  const std::vector<float> expected = run(plain, input);

  cpu_set_t before;
  CPU_ZERO(&before);
  REQUIRE(sched_getaffinity(0, sizeof before, &before) == 0);
  int first_cpu = 0;
  while (!CPU_ISSET(first_cpu, &before)) ++first_cpu;
  REQUIRE(first_cpu < 64);
  core::Session pinned(model, {"cpu", 2, uint64_t{1} << first_cpu});
  CHECK(pinned.describe().find("pinned to") != std::string::npos);
  CHECK(run(pinned, input) == expected);
  cpu_set_t after;
  CPU_ZERO(&after);
  REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK(CPU_EQUAL(&before, &after));
}

TEST_CASE("cpu backend: an affinity mask naming no usable CPU is a clear error") {
  const auto model = make_model(test::tiny_config(), 3);
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

TEST_CASE("cpu planner: slots = min(threads, branches), pool threads make up the rest") {
  struct Want {
    uint32_t threads, branches;
    std::vector<uint32_t> slots;
  };
  for (const Want& w : {Want{1, 1, {1}}, Want{1, 8, {1}}, Want{2, 1, {2}}, Want{2, 2, {1, 1}}, Want{3, 8, {1, 1, 1}},
                        Want{8, 3, {3, 3, 2}}, Want{4, 2, {2, 2}}, Want{7, 7, {1, 1, 1, 1, 1, 1, 1}},
                        Want{16, 5, {4, 3, 3, 3, 3}}}) {
    CAPTURE(w.threads);
    CAPTURE(w.branches);
    const cpu::ThreadPlan plan = cpu::plan_threads(w.threads, w.branches);
    CHECK(plan.slot_threads == w.slots);
    uint32_t total = 0;
    for (uint32_t t : plan.slot_threads) total += t;
    CHECK(total == w.threads);
  }
  CHECK(cpu::plan_threads(8, 3).describe() == "3 branch slots x 3-2 threads");
  CHECK(cpu::plan_threads(2, 5).describe() == "2 branch slots x 1 thread, 5 branches queued in index order");
  CHECK(cpu::plan_threads(4, 1).describe() == "1 branch slot x 4 threads");
}
