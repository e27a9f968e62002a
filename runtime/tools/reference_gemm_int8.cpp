#include "reference_gemm_int8.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace pfrt::tools {

namespace {

void check(xnn_status status, const char* what) {
  if (status != xnn_status_success) {
    throw std::runtime_error(std::string("XNNPACK int8 ") + what + " failed (status " + std::to_string(int(status)) +
                             ")");
  }
}

}  // namespace

const char* int8_reference_name(Int8Reference kind) {
  return kind == Int8Reference::kConvolutionQc8 ? "xnnpack qc8 1x1 convolution" : "xnnpack qs8 fully-connected";
}

double reference_gemm_int8_gops(const GemmShape& shape, uint32_t threads, double min_seconds, Int8Reference kind) {
  check(xnn_initialize(nullptr), "initialisation");
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<int8_t> input(shape.m * shape.k + XNN_EXTRA_BYTES), weights(shape.n * shape.k), output(shape.m * shape.n);
  std::vector<int32_t> bias(shape.n);
  for (int8_t& x : input) x = int8_t(dist(rng));
  for (int8_t& x : weights) x = int8_t(dist(rng));
  for (int32_t& x : bias) x = dist(rng) * 64;
  // Scales that keep the outputs in range (a realistic requantisation, not saturated).
  const std::vector<float> weight_scales(shape.n, 1.0f / 127.0f);
  const float input_scale = 1.0f / 127.0f, output_scale = 0.05f;

  std::unique_ptr<pthreadpool, void (*)(pthreadpool_t)> pool(threads > 1 ? pthreadpool_create(threads) : nullptr,
                                                             &pthreadpool_destroy);
  if (threads > 1 && !pool) throw std::runtime_error("cannot create a pthreadpool of " + std::to_string(threads));
  xnn_operator_t op = nullptr;
  if (kind == Int8Reference::kConvolutionQc8) {
    check(xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, shape.k, shape.n, shape.k, shape.n, 0,
                                            input_scale, weight_scales.data(), weights.data(), bias.data(), 0,
                                            output_scale, -127, 127, 0, &op),
          "1x1 convolution creation");
  } else {
    check(xnn_create_fully_connected_nc_qs8(shape.k, shape.n, shape.k, shape.n, 0, input_scale, 1.0f / 127.0f,
                                            weights.data(), bias.data(), 0, output_scale, -127, 127, 0, &op),
          "fully-connected creation");
  }
  std::unique_ptr<xnn_operator, xnn_status (*)(xnn_operator_t)> guard(op, &xnn_delete_operator);
  if (kind == Int8Reference::kConvolutionQc8) {  // m pixels: one image of 1 x m
    check(xnn_setup_convolution2d_nhwc_qc8(op, 1, 1, shape.m, input.data(), output.data(), pool.get()), "setup");
  } else {
    check(xnn_setup_fully_connected_nc_qs8(op, shape.m, input.data(), output.data(), pool.get()), "setup");
  }
  return median_rate(
      shape.flops(), [&] { check(xnn_run_operator(op, pool.get()), "run"); }, min_seconds);
}

}  // namespace pfrt::tools
