// The benchmark's yardstick: the rate XNNPACK's fully-connected operator reaches alone for the
// model's largest GEMM on the same threads. The model's GFLOP/s as a fraction of it says how
// much of the machine's GEMM speed the whole network keeps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pfrt/pfrt.h"

namespace pfrt::tools {

struct GemmShape {
  std::string name;  // which layer ("mlp fc1", ...)
  uint64_t m = 0, k = 0, n = 0;
  uint64_t flops() const { return 2 * m * k * n; }
};

// The GEMM with the most operations in one run of `batch` images: patch embedding, qkv,
// attention output, MLP fc1/fc2 or the classifier.
GemmShape largest_gemm(const pfrt_model_info& info, uint32_t batch);

// XNNPACK's f32 fully-connected operator for `shape` on `threads` threads (1: no pool), made
// once and timed in bursts: pfrt-bench --sweep times it between a row's runs, so that the
// yardstick and the model see the same machine (a shared or virtual machine's speed changes
// from second to second). Its pool's threads exist only during a burst: pthreadpool's idle
// workers spin for a long while, and would slow the model's next runs. Throws
// std::runtime_error when XNNPACK fails.
class ReferenceGemm {
 public:
  ReferenceGemm(const GemmShape& shape, uint32_t threads);
  ~ReferenceGemm();
  ReferenceGemm(const ReferenceGemm&) = delete;
  ReferenceGemm& operator=(const ReferenceGemm&) = delete;

  // Appends the seconds of each of at least 3 runs (after one untimed warm-up) lasting at
  // least `min_seconds` in all.
  void time(double min_seconds, std::vector<double>& seconds);
  // GFLOP/s at the median of `seconds` (0 when empty).
  double gflops(const std::vector<double>& seconds) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// GFLOP/s of ReferenceGemm(shape, threads) timed in one burst of at least `min_seconds`.
double reference_gemm_gflops(const GemmShape& shape, uint32_t threads, double min_seconds);

// Billions of operations a second of `ops` operations done by each call of run(): the median of
// at least 5 timed calls (after one untimed warm-up) lasting at least `min_seconds` in all.
double median_rate(uint64_t ops, const std::function<void()>& run, double min_seconds);

}  // namespace pfrt::tools
