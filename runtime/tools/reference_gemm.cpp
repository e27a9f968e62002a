#include "reference_gemm.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "stats.hpp"

namespace pfrt::tools {

GemmShape largest_gemm(const pfrt_model_info& info, uint32_t batch) {
  const uint64_t tokens = uint64_t{info.tokens} * batch;
  const uint64_t patches = uint64_t{info.tokens - 1} * batch;
  const uint64_t d = info.embed_dim, inner = uint64_t{info.heads} * info.head_dim, mlp = info.mlp_dim;
  const uint64_t patch_dim = uint64_t{info.patch_size} * info.patch_size * info.channels;
  const GemmShape candidates[] = {
      {"patch embedding", patches, patch_dim, d},
      {"qkv", tokens, d, 3 * inner},
      {"attention output", tokens, inner, d},
      {"mlp fc1", tokens, d, mlp},
      {"mlp fc2", tokens, mlp, d},
      {"classifier", batch, d, info.classes},
  };
  GemmShape best = candidates[0];
  for (const GemmShape& g : candidates) {
    if (g.flops() > best.flops()) best = g;
  }
  return best;
}

namespace {

void check(xnn_status status, const char* what) {
  if (status != xnn_status_success) {
    throw std::runtime_error(std::string("XNNPACK ") + what + " failed (status " + std::to_string(int(status)) + ")");
  }
}

}  // namespace

struct ReferenceGemm::State {
  GemmShape shape;
  uint32_t threads;
  std::vector<float> input, weights, bias, output;
  std::unique_ptr<xnn_operator, xnn_status (*)(xnn_operator_t)> op{nullptr, &xnn_delete_operator};
};

ReferenceGemm::ReferenceGemm(const GemmShape& shape, uint32_t threads) : state_(std::make_unique<State>()) {
  check(xnn_initialize(nullptr), "initialisation");
  State& s = *state_;
  s.shape = shape;
  s.threads = threads;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  s.input.resize(shape.m * shape.k + XNN_EXTRA_BYTES / sizeof(float));
  s.weights.resize(shape.n * shape.k);
  s.bias.resize(shape.n);
  s.output.resize(shape.m * shape.n);
  for (float& x : s.input) x = dist(rng);
  for (float& x : s.weights) x = dist(rng) * 0.05f;
  for (float& x : s.bias) x = dist(rng);
  xnn_operator_t op = nullptr;
  check(xnn_create_fully_connected_nc_f32(shape.k, shape.n, shape.k, shape.n, s.weights.data(), s.bias.data(),
                                          -std::numeric_limits<float>::infinity(),
                                          std::numeric_limits<float>::infinity(), 0, &op),
        "fully-connected creation");
  s.op.reset(op);
}

ReferenceGemm::~ReferenceGemm() = default;

void ReferenceGemm::time(double min_seconds, std::vector<double>& seconds) {
  State& s = *state_;
  std::unique_ptr<pthreadpool, void (*)(pthreadpool_t)> pool(s.threads > 1 ? pthreadpool_create(s.threads) : nullptr,
                                                             &pthreadpool_destroy);
  if (s.threads > 1 && !pool) throw std::runtime_error("cannot create a pthreadpool of " + std::to_string(s.threads));
  check(xnn_setup_fully_connected_nc_f32(s.op.get(), s.shape.m, s.input.data(), s.output.data(), pool.get()), "setup");
  const auto run = [&] { check(xnn_run_operator(s.op.get(), pool.get()), "run"); };
  run();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (size_t n = 0;
       n < 3 ||
       (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds && n < 10000);
       ++n) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

double ReferenceGemm::gflops(const std::vector<double>& seconds) const {
  const double median = seconds.empty() ? 0.0 : summarize(seconds).p50;
  return median > 0 ? double(state_->shape.flops()) / median * 1e-9 : 0.0;
}

double reference_gemm_gflops(const GemmShape& shape, uint32_t threads, double min_seconds) {
  ReferenceGemm gemm(shape, threads);
  std::vector<double> seconds;
  gemm.time(min_seconds, seconds);
  return gemm.gflops(seconds);
}

double median_rate(uint64_t ops, const std::function<void()>& run, double min_seconds) {
  run();  // warm-up
  std::vector<double> seconds;
  const auto start = std::chrono::steady_clock::now();
  while (seconds.size() < 5 ||
         (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds &&
          seconds.size() < 10000)) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double median = summarize(seconds).p50;
  return median > 0 ? double(ops) / median * 1e-9 : 0.0;
}

}  // namespace pfrt::tools
