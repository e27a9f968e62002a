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

double reference_gemm_gflops(const GemmShape& shape, uint32_t threads, double min_seconds) {
  check(xnn_initialize(nullptr), "initialisation");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> input(shape.m * shape.k + XNN_EXTRA_BYTES / sizeof(float));
  std::vector<float> weights(shape.n * shape.k), bias(shape.n), output(shape.m * shape.n);
  for (float& x : input) x = dist(rng);
  for (float& x : weights) x = dist(rng) * 0.05f;
  for (float& x : bias) x = dist(rng);

  std::unique_ptr<pthreadpool, void (*)(pthreadpool_t)> pool(threads > 1 ? pthreadpool_create(threads) : nullptr,
                                                             &pthreadpool_destroy);
  if (threads > 1 && !pool) throw std::runtime_error("cannot create a pthreadpool of " + std::to_string(threads));
  xnn_operator_t op = nullptr;
  check(xnn_create_fully_connected_nc_f32(shape.k, shape.n, shape.k, shape.n, weights.data(), bias.data(),
                                          -std::numeric_limits<float>::infinity(),
                                          std::numeric_limits<float>::infinity(), 0, &op),
        "fully-connected creation");
  std::unique_ptr<xnn_operator, xnn_status (*)(xnn_operator_t)> guard(op, &xnn_delete_operator);
  check(xnn_setup_fully_connected_nc_f32(op, shape.m, input.data(), output.data(), pool.get()), "setup");
  return median_rate(
      shape.flops(), [&] { check(xnn_run_operator(op, pool.get()), "run"); }, min_seconds);
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
