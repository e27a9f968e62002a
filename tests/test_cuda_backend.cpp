// The cuda backend against the reference backend, on a GPU (cuda_gpu_main.cpp skips every
// test without one). Tolerance, stated once: with TF32 off (cuBLAS's default math computes f32
// GEMMs in f32) every logit is within 1e-4 of the reference relative to the largest reference
// logit magnitude (at least 1): |cuda - reference| <= 1e-4 * max(1, max |reference|). Each case
// runs three times, so the warm-up, the graph capture and the replay are all compared.
#include <cuda_runtime_api.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "cuda/cuda_session.hpp"
#include "error.hpp"
#include "model/model.hpp"
#include "session/session.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

constexpr double kRelativeTolerance = 1e-4;

std::shared_ptr<const core::Model> model_of(const format::ModelConfig& c, uint32_t seed) {
  const auto bytes = test::model_bytes(c, seed);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

// Logits of the reference backend for a batch and a prefix.
std::vector<float> reference_logits(const std::shared_ptr<const core::Model>& model, const std::vector<float>& input,
                                    uint32_t branches) {
  core::Session reference(model, {"reference", 1, 0});
  std::vector<float> logits(input.size() / model->config().image_floats() * model->config().classes);
  core::RunOptions o;
  o.branches = branches;
  reference.run(input.data(), input.size(), logits.data(), logits.size(), o);
  return logits;
}

std::vector<float> run_cuda(core::BackendSession& session, const core::Model& model, const std::vector<float>& input,
                            uint32_t branches, core::RunStatus* status = nullptr) {
  const size_t batch = input.size() / model.config().image_floats();
  std::vector<float> logits(batch * model.config().classes, std::nanf(""));
  core::RunRequest r;
  r.input = input.data();
  r.batch = batch;
  r.branches = branches;
  r.logits = logits.data();
  core::RunControl control;
  core::RunProfile profile;
  profile.branch_ms.assign(model.config().branches, 0.0);
  const core::RunStatus s = session.run(r, control, profile);
  if (status) *status = s;
  return logits;
}

// Empty when within tolerance, else the first element that is not.
std::string compare(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return "sizes differ";
  double scale = 1.0;
  for (float v : want) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(double(got[i]) - double(want[i]));
    if (!(diff <= kRelativeTolerance * scale)) {
      return "logit " + std::to_string(i) + ": cuda " + std::to_string(got[i]) + ", reference " +
             std::to_string(want[i]) + " (tolerance " + std::to_string(kRelativeTolerance * scale) + ")";
    }
  }
  return {};
}

struct Shape {
  const char* name;
  format::ModelConfig config;
};

// Several shapes: odd sizes, both poolings, both residual forms, both GELUs, one head without
// output projection, weighted merge, deeper branches.
std::vector<Shape> shapes() {
  std::vector<Shape> all;
  all.push_back({"tiny: 28x28x1, D16, 2x8 heads, 2 branches", test::tiny_config()});

  format::ModelConfig odd = test::tiny_config();
  odd.image_size = 30;
  odd.channels = 3;
  odd.patch_size = 5;  // 36 patches, 37 tokens
  odd.embed_dim = 24;
  odd.heads = 3;
  odd.head_dim = 8;
  odd.mlp_dim = 40;
  odd.branches = 3;
  odd.blocks_per_branch = 2;
  odd.classes = 7;
  odd.pooling = format::Pooling::kMean;
  odd.mean = {0.5f, 0.4f, 0.3f};
  odd.std = {0.2f, 0.25f, 0.3f};
  all.push_back({"odd: 30x30x3, patch 5, D24, 3x8 heads, 3 branches x 2 blocks, mean pooling", odd});

  format::ModelConfig prenorm = odd;
  prenorm.residual = format::Residual::kPreNorm;
  prenorm.gelu = format::Gelu::kTanh;
  prenorm.branches = 5;
  prenorm.blocks_per_branch = 1;
  prenorm.merge_weights = {1.0f, 0.5f, -0.75f, 2.0f, 0.25f};
  prenorm.pooling = format::Pooling::kCls;
  all.push_back({"pre-norm, tanh GELU, 5 branches, weighted merge", prenorm});

  format::ModelConfig single = test::tiny_config();
  single.heads = 1;
  single.head_dim = single.embed_dim;  // no output projection
  single.branches = 4;
  single.classes = 3;
  all.push_back({"one head spanning the width (no projection), 4 branches", single});

  format::ModelConfig wide = test::tiny_config();
  wide.image_size = 32;
  wide.patch_size = 4;  // 64 patches, 65 tokens
  wide.channels = 3;
  wide.embed_dim = 96;
  wide.heads = 3;
  wide.head_dim = 32;
  wide.mlp_dim = 192;
  wide.branches = 6;
  wide.classes = 10;
  wide.mean = {0.5f, 0.5f, 0.5f};
  wide.std = {0.2f, 0.2f, 0.2f};
  all.push_back({"wider: 32x32x3, patch 4, D96, 3x32 heads, 6 branches", wide});
  return all;
}

}  // namespace

TEST_CASE("cuda logits match the reference on every shape, batch and prefix") {
  uint32_t seed = 100;
  for (const Shape& shape : shapes()) {
    CAPTURE(shape.name);
    const auto model = model_of(shape.config, seed++);
    for (const uint32_t max_streams : {cuda::kDefaultMaxStreams, 2u}) {
      CAPTURE(max_streams);
      cuda::CudaSessionOptions options;
      options.max_streams = max_streams;
      cuda::CudaSession session(model, options);
      for (const size_t batch : {size_t{1}, size_t{3}}) {
        CAPTURE(batch);
        const auto input = test::random_floats(batch * model->config().image_floats(), seed++);
        for (uint32_t k = 1; k <= model->config().branches; ++k) {
          CAPTURE(k);
          const std::vector<float> want = reference_logits(model, input, k);
          for (int repeat = 0; repeat < 3; ++repeat) {  // warm-up, capture, replay
            CAPTURE(repeat);
            core::RunStatus status;
            const std::vector<float> got = run_cuda(session, *model, input, k, &status);
            CHECK(status.stopped == core::StopReason::kNone);
            CHECK(status.branches_used == k);
            CHECK(compare(got, want) == "");
          }
        }
      }
    }
  }
}

TEST_CASE("graphs are captured after a warm-up and re-captured when the batch changes") {
  const auto model = model_of(shapes()[1].config, 7);
  cuda::CudaSession session(model, {});
  const auto& n = session.counters();
  const size_t image = model->config().image_floats();
  const auto one = test::random_floats(image, 1), two = test::random_floats(2 * image, 2);
  const uint32_t all = model->config().branches;
  const std::vector<float> want_one = reference_logits(model, one, all);
  const std::vector<float> want_two = reference_logits(model, two, all);

  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.eager_runs == 1);
  CHECK(n.graph_captures == 0);
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.graph_captures == 1);
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.graph_replays == 1);
  const uint64_t reallocations = n.reallocations;

  // A larger batch: buffers grow, every graph is dropped, the new batch warms up and captures.
  CHECK(compare(run_cuda(session, *model, two, all), want_two) == "");
  CHECK(n.reallocations == reallocations + 1);
  CHECK(n.eager_runs == 2);
  CHECK(compare(run_cuda(session, *model, two, all), want_two) == "");
  CHECK(n.graph_captures == 2);
  CHECK(compare(run_cuda(session, *model, two, all), want_two) == "");
  CHECK(n.graph_replays == 2);

  // Back to one image: same buffers, but a new key: warm-up, capture, replay again.
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.eager_runs == 3);
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.graph_captures == 3);
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.graph_replays == 3);
  CHECK(n.reallocations == reallocations + 1);  // no allocation for a smaller batch

  // Another prefix is another graph; the full run's graph is kept.
  run_cuda(session, *model, one, 1);
  run_cuda(session, *model, one, 1);
  CHECK(n.graph_captures == 4);
  CHECK(compare(run_cuda(session, *model, one, all), want_one) == "");
  CHECK(n.graph_replays == 4);
}

TEST_CASE("sessions of one model share its device weights and run concurrently") {
  const auto model = model_of(shapes()[2].config, 9);
  const auto other = model_of(shapes()[2].config, 10);
  constexpr int kSessions = 4, kRuns = 12;
  std::vector<std::unique_ptr<cuda::CudaSession>> sessions;
  for (int i = 0; i < kSessions; ++i)
    sessions.push_back(std::make_unique<cuda::CudaSession>(model, cuda::CudaSessionOptions{}));
  cuda::CudaSession separate(other, {});
  for (int i = 1; i < kSessions; ++i) CHECK(&sessions[i]->weights() == &sessions[0]->weights());
  CHECK(&separate.weights() != &sessions[0]->weights());

  std::vector<std::vector<float>> inputs, wants;
  for (int i = 0; i < kSessions; ++i) {
    inputs.push_back(test::random_floats(size_t(i + 1) * model->config().image_floats(), 50 + uint32_t(i)));
    wants.push_back(reference_logits(model, inputs.back(), model->config().branches));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] {
      for (int run = 0; run < kRuns; ++run) {
        const std::vector<float> got = run_cuda(*sessions[i], *model, inputs[i], model->config().branches);
        if (!compare(got, wants[i]).empty()) mismatches.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(mismatches.load() == 0);
  for (int i = 0; i < kSessions; ++i) CHECK(sessions[i]->counters().graph_replays == kRuns - 2);
}

TEST_CASE("through the public session: profile from GPU events and describe") {
  const auto model = model_of(shapes()[4].config, 12);
  core::Session session(model, {"cuda", 0, 0});
  CHECK(session.describe().rfind("cuda: ", 0) == 0);
  const auto input = test::random_floats(2 * model->config().image_floats(), 13);
  std::vector<float> logits(2 * model->config().classes);
  for (int i = 0; i < 3; ++i) session.run(input.data(), input.size(), logits.data(), logits.size(), {});
  CHECK(compare(logits, reference_logits(model, input, model->config().branches)) == "");
  const core::RunProfile& p = session.last_profile();
  CHECK(p.stem_ms > 0.0);
  CHECK(p.branches_ms > 0.0);
  CHECK(p.head_ms > 0.0);
  for (double ms : p.branch_ms) CHECK(ms > 0.0);
  core::RunOptions prefix;
  prefix.branches = 2;
  session.run(input.data(), input.size(), logits.data(), logits.size(), prefix);
  CHECK(session.last_profile().branch_ms[2] == 0.0);
}

TEST_CASE("a ViT-sized model (DeiT-Tiny: 224x224x3, patch 16, D 192, 3x64 heads, MLP 768, 1000 classes)") {
  for (const auto pooling : {format::Pooling::kCls, format::Pooling::kMean}) {
    format::ModelConfig c = test::deit_tiny_config(3, 2);
    c.pooling = pooling;
    const auto model = model_of(c, 40);
    cuda::CudaSession session(model, {});
    const auto input = test::random_floats(2 * c.image_floats(), 41);
    for (const uint32_t k : {1u, 3u}) {
      const std::vector<float> want = reference_logits(model, input, k);
      for (int repeat = 0; repeat < 3; ++repeat) CHECK(compare(run_cuda(session, *model, input, k), want) == "");
    }
  }
}

TEST_CASE("mapped host input and output (the integrated-GPU path) forced on this GPU") {
  const auto model = model_of(shapes()[1].config, 42);
  cuda::CudaSessionOptions options;
  options.force_mapped = true;
  cuda::CudaSession session(model, options);
  if (!session.mapped_io()) {
    MESSAGE("this GPU cannot map host memory: skipped");
    return;
  }
  const auto input = test::random_floats(3 * model->config().image_floats(), 43);
  const std::vector<float> want = reference_logits(model, input, model->config().branches);
  for (int repeat = 0; repeat < 3; ++repeat) {
    CHECK(compare(run_cuda(session, *model, input, model->config().branches), want) == "");
  }
}

TEST_CASE("a failed graph capture runs the request eagerly and correctly") {
  const auto model = model_of(shapes()[2].config, 44);
  cuda::CudaSession session(model, {});
  session.test_hooks().fail_capture = true;
  const auto input = test::random_floats(model->config().image_floats(), 45);
  const uint32_t all = model->config().branches;
  const std::vector<float> want = reference_logits(model, input, all);
  for (int repeat = 0; repeat < 4; ++repeat) CHECK(compare(run_cuda(session, *model, input, all), want) == "");
  CHECK(session.counters().capture_failures >= 1);
  CHECK(session.counters().graph_replays == 0);
  session.test_hooks().fail_capture = false;  // and captures work again
  for (int repeat = 0; repeat < 3; ++repeat) CHECK(compare(run_cuda(session, *model, input, all), want) == "");
  CHECK(session.counters().graph_replays >= 1);
}

TEST_CASE("a deadline of a quarter of the run answers well before the full run, with a correct prefix") {
  format::ModelConfig c = test::deit_tiny_config(12, 2);
  const auto model = model_of(c, 46);
  core::Session session(model, {"cuda", 0, 0});
  const auto input = test::random_floats(8 * c.image_floats(), 47);
  std::vector<float> logits(8 * c.classes);
  core::RunOptions unlimited;  // the stepwise path, without a deadline that could pass
  unlimited.deadline = core::Clock::now() + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) session.run(input.data(), input.size(), logits.data(), logits.size(), unlimited);
  double full = 1e9;
  for (int i = 0; i < 5; ++i) {
    unlimited.deadline = core::Clock::now() + std::chrono::hours(1);
    full = std::min(full, session.run(input.data(), input.size(), logits.data(), logits.size(), unlimited).elapsed_ms);
  }
  core::RunOptions quarter;
  quarter.best_prefix_on_deadline = true;
  const auto start = core::Clock::now();
  quarter.deadline =
      start + std::chrono::duration_cast<core::Clock::duration>(std::chrono::duration<double, std::milli>(full / 4));
  uint32_t used = 0;
  try {
    used = session.run(input.data(), input.size(), logits.data(), logits.size(), quarter).branches_used;
  } catch (const core::Error& e) {  // no branch finished in time: also an answer at the deadline
    CHECK(e.status() == PFRT_DEADLINE_EXCEEDED);
  }
  const double took = std::chrono::duration<double, std::milli>(core::Clock::now() - start).count();
  INFO("full run " << full << " ms; under a quarter deadline " << took << " ms, " << used << " branches");
  CHECK(took < full / 2);
  CHECK(used < c.branches);
  // The reference is slow at this size: the first image's logits are compared.
  const std::vector<float> first(input.begin(), input.begin() + long(c.image_floats()));
  const auto first_logits = [&] { return std::vector<float>(logits.begin(), logits.begin() + long(c.classes)); };
  if (used > 0) CHECK(compare(first_logits(), reference_logits(model, first, used)) == "");
  // The next run waits for what the deadline left running, then is complete and correct.
  session.run(input.data(), input.size(), logits.data(), logits.size(), {});
  CHECK(compare(first_logits(), reference_logits(model, first, c.branches)) == "");
}

TEST_CASE("the caller's current device is left as it was") {
  int devices = 0;
  REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess);
  if (devices < 2) {
    MESSAGE("one CUDA device: nothing to tell apart, skipped");
    return;
  }
  REQUIRE(cudaSetDevice(1) == cudaSuccess);
  const auto model = model_of(shapes()[0].config, 48);
  cuda::CudaSession session(model, {});  // on device 0
  int current = -1;
  CHECK(cudaGetDevice(&current) == cudaSuccess);
  CHECK(current == 1);
  const auto input = test::random_floats(model->config().image_floats(), 49);
  run_cuda(session, *model, input, model->config().branches);
  CHECK(cudaGetDevice(&current) == cudaSuccess);
  CHECK(current == 1);
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
}
