// The cuda backend's f16 and int8 GEMMs on a GPU (cuda_gpu_main.cpp skips every test without
// one), on every shape of the backend tests (test::shape_cases: dimensions that are not multiples
// of 4 included, so cublasLt's padding is exercised), batches 1, 3 and 8, the first branch and all
// branches, each run three times (warm-up, graph capture, replay). Tolerances:
//   int8 against the reference backend's int8 (the same contract in plain loops): the sums are
//   exact in both, the f32 kernels around them differ in the last bits, which can move a quantised
//   activation by one step (as for the cpu backend, tests/test_cpu_int8_backend.cpp): the same
//   argmax for every image and |cuda - reference| <= 1e-2 x max(1, max |reference|);
//   f16 against the reference backend on the f32 model of the same weights: within 1e-2 relative.
// The int8 kernels alone (quantisation, the own dp4a GEMM cublasLt's refusals fall back to) are
// checked bit for bit against the reference's quantisation and exact int32 sums.
#include <cuda_runtime_api.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/kernels_precision.hpp"
#include "cuda/linear_int8.hpp"
#include "reference/ops.hpp"
#include "session/session.hpp"
#include "support/model_cases.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

constexpr double kTolerance = 1e-2;

size_t argmax(const std::vector<float>& logits, size_t image, size_t classes) {
  const auto begin = logits.begin() + long(image * classes);
  return size_t(std::max_element(begin, begin + long(classes)) - begin);
}

// Device memory holding a copy of `host` (or `count` zero bytes), freed at scope end.
template <class T>
struct DeviceArray {
  explicit DeviceArray(const std::vector<T>& host) : count(host.size()) {
    void* p = nullptr;
    REQUIRE(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T)) == cudaSuccess);
    data = static_cast<T*>(p);
    REQUIRE(cudaMemcpy(data, host.data(), count * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  ~DeviceArray() { (void)cudaFree(data); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  std::vector<T> read() const {
    std::vector<T> host(count);
    REQUIRE(cudaMemcpy(host.data(), data, count * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return host;
  }
  T* data = nullptr;
  size_t count;
};

// Runs `model` on the cuda backend and checks it against `want_of(input, prefix)` as above.
template <class Want>
double check_against(const std::shared_ptr<const core::Model>& model, Want&& want_of, bool same_argmax, uint32_t seed) {
  const format::ModelConfig& c = model->config();
  core::Session cuda(model, {"cuda", 1, 0});
  double worst = 0.0;
  for (const size_t batch : {1, 3, 8}) {
    CAPTURE(batch);
    const std::vector<float> input = test::random_floats(batch * c.image_floats(), seed + uint32_t(batch));
    for (const uint32_t prefix : {1u, c.branches}) {
      CAPTURE(prefix);
      const std::vector<float> want = want_of(input, prefix);
      for (int repeat = 0; repeat < 3; ++repeat) {
        CAPTURE(repeat);
        const std::vector<float> got = test::run_logits(cuda, input, prefix);
        const double error = test::relative_error(got, want);
        worst = std::max(worst, error);
        CHECK(error <= kTolerance);
        if (!same_argmax) continue;
        for (size_t i = 0; i < batch; ++i) CHECK(argmax(got, i, c.classes) == argmax(want, i, c.classes));
      }
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("cuda int8 matches the reference int8 on every shape, batch and prefix, same argmax") {
  double worst = 0.0;
  uint32_t seed = 300;
  for (test::ShapeCase k : test::shape_cases()) {
    CAPTURE(k.name);
    k.config.quantization = format::Quantization::of(format::Precision::kInt8);
    const auto model = test::make_model(k.config, seed++);
    core::Session reference(model, {"reference", 1, 0});
    auto want = [&](const std::vector<float>& input, uint32_t prefix) {
      return test::run_logits(reference, input, prefix);
    };
    worst = std::max(worst, check_against(model, want, true, seed));
    CHECK(core::Session(model, {"cuda", 1, 0}).describe().find("cublasLt int8") != std::string::npos);
  }
  MESSAGE("largest relative error cuda vs reference (int8): " << worst << "; GEMMs cublasLt refused (own dp4a kernel): "
                                                              << cuda::own_int8_gemms());
}

TEST_CASE("cuda f16 matches the f32 reference within 1e-2 relative on every shape, batch and prefix") {
  double worst = 0.0;
  uint32_t seed = 400;
  for (const test::ShapeCase& k : test::shape_cases()) {
    CAPTURE(k.name);
    format::ModelConfig f16 = k.config;
    f16.quantization = format::Quantization::of(format::Precision::kF16);
    const auto model = test::make_model(f16, seed);
    const auto f32_model = test::make_model(k.config, seed);  // the same weights, not rounded
    ++seed;
    core::Session reference(f32_model, {"reference", 1, 0});
    auto want = [&](const std::vector<float>& input, uint32_t prefix) {
      return test::run_logits(reference, input, prefix);
    };
    worst = std::max(worst, check_against(model, want, false, seed));
    CHECK(core::Session(model, {"cuda", 1, 0}).describe().find("f16 GEMMs with f32 accumulation") != std::string::npos);
  }
  MESSAGE("largest relative error cuda f16 vs f32 reference: " << worst);
}

TEST_CASE("the int8 kernels: quantisation bit for bit as the reference's, exact sums from the own dp4a GEMM") {
  const size_t rows = 37, in = 45, out = 13;
  const size_t k = 48, m = 16;  // int8_gemm_shape(45, 13)
  std::vector<float> x = test::random_floats(rows * in, 9);
  for (size_t i = 0; i < in; ++i) x[5 * in + i] = 0.0f;  // a zero row
  for (size_t i = 0; i < in; ++i) x[6 * in + i] *= 1e-3f;
  std::vector<int8_t> w(m * k, 0);
  const std::vector<float> wf = test::random_floats(out * in, 10);
  for (size_t n = 0; n < out; ++n) {
    for (size_t i = 0; i < in; ++i) w[n * k + i] = int8_t(std::lround(wf[n * in + i] * 127.0f));
  }
  DeviceArray<float> dx(x), scales{std::vector<float>(rows)};
  DeviceArray<int8_t> q{std::vector<int8_t>(rows * k, int8_t{55})}, dw(w);
  DeviceArray<int32_t> sums{std::vector<int32_t>(rows * m, -1)};
  cuda::kernels::quantize_rows(dx.data, in, rows, in, q.data, k, scales.data, nullptr);
  cuda::kernels::int8_gemm(q.data, dw.data, rows, m, k, sums.data, nullptr);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  const std::vector<int8_t> got_q = q.read();
  const std::vector<float> got_scales = scales.read();
  const std::vector<int32_t> got_sums = sums.read();
  for (size_t r = 0; r < rows; ++r) {
    CAPTURE(r);
    std::vector<int8_t> want(in);
    float want_scale = -1.0f;
    reference::quantize_row(x.data() + r * in, in, want.data(), &want_scale);
    CHECK(got_scales[r] == want_scale);
    CHECK(std::equal(want.begin(), want.end(), got_q.begin() + long(r * k)));
    CHECK(std::all_of(got_q.begin() + long(r * k + in), got_q.begin() + long((r + 1) * k),
                      [](int8_t v) { return v == 0; }));  // the padding
    for (size_t n = 0; n < m; ++n) {
      int32_t exact = 0;
      for (size_t i = 0; i < in; ++i) exact += int32_t(want[i]) * int32_t(w[n * k + i]);
      CHECK(got_sums[r * m + n] == exact);
    }
  }
}
