// The reference operators against values computed by hand (the end-to-end check against
// PyTorch is test_parity.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "reference/ops.hpp"

namespace ops = pfrt::reference;
using doctest::Approx;

TEST_CASE("linear: y = x W^T + b with W stored [out, in]") {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};      // 2 rows x 3
  const std::vector<float> w = {1, 0, -1, 2, 1, 0.5f};  // 2 outputs x 3
  const std::vector<float> b = {10, -10};
  std::vector<float> y(4);
  ops::linear(x.data(), 2, 3, w.data(), b.data(), 2, y.data());
  CHECK(y == std::vector<float>{10 + 1 - 3, -10 + 2 + 2 + 1.5f, 10 + 4 - 6, -10 + 8 + 5 + 3});
  ops::linear(x.data(), 2, 3, w.data(), nullptr, 2, y.data());
  CHECK(y[0] == -2.0f);
}

TEST_CASE("layer_norm uses the biased variance, eps, then the affine parameters") {
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<float> gamma = {1, 2, 1, 1}, beta = {0, 0, 1, 0};
  std::vector<float> y(4);
  ops::layer_norm(x.data(), 1, 4, gamma.data(), beta.data(), 1e-5f, y.data());
  const double inv = 1.0 / std::sqrt(1.25 + 1e-5);  // mean 2.5, variance 1.25
  CHECK(y[0] == Approx(-1.5 * inv).epsilon(1e-6));
  CHECK(y[1] == Approx(2 * -0.5 * inv).epsilon(1e-6));
  CHECK(y[2] == Approx(0.5 * inv + 1).epsilon(1e-6));
  CHECK(y[3] == Approx(1.5 * inv).epsilon(1e-6));
}

TEST_CASE("gelu: exact erf form and tanh approximation") {
  std::vector<float> x = {-1.0f, 0.0f, 1.0f, 3.0f};
  ops::gelu(x.data(), x.size(), pfrt::format::Gelu::kErf);
  // 0.5 x (1 + erf(x / sqrt 2)): Phi(1) = 0.8413447460685429, Phi(3) = 0.9986501019683699.
  CHECK(x[0] == Approx(-(1 - 0.8413447460685429)).epsilon(1e-6));
  CHECK(x[1] == 0.0f);
  CHECK(x[2] == Approx(0.8413447460685429).epsilon(1e-6));
  CHECK(x[3] == Approx(3 * 0.9986501019683699).epsilon(1e-6));
  std::vector<float> t = {1.0f};
  ops::gelu(t.data(), 1, pfrt::format::Gelu::kTanh);
  CHECK(t[0] == Approx(0.8411919906082768).epsilon(1e-6));  // 0.5 (1 + tanh(sqrt(2/pi) 1.044715))
}

TEST_CASE("softmax rows sum to one and are shift invariant") {
  std::vector<float> x = {0, std::log(3.0f), 1000, 1000 + std::log(3.0f)};
  ops::softmax_rows(x.data(), 2, 2);
  CHECK(x[0] == Approx(0.25));
  CHECK(x[1] == Approx(0.75));
  CHECK(x[2] == Approx(0.25));
  CHECK(x[3] == Approx(0.75));
}

TEST_CASE("attention: two tokens, two heads of size one") {
  // Row layout per token: q(h0, h1), k(h0, h1), v(h0, h1).
  const std::vector<float> qkv = {1, 0, /*k*/ 0, 1, /*v*/ 10, 100,   // token 0
                                  0, 2, /*k*/ 1, 1, /*v*/ 20, 200};  // token 1
  std::vector<float> out(4);
  ops::attention(qkv.data(), 2, 2, 1, out.data());
  // head 0: scores token0 = [q0 k0, q0 k1] = [0, 1]; token1 = [0, 0]. Scale 1/sqrt(1).
  const double p = 1.0 / (1.0 + std::exp(1.0));  // weight on key 0 when scores are [0, 1]
  CHECK(out[0] == Approx(p * 10 + (1 - p) * 20));
  CHECK(out[2] == Approx(15));
  // head 1: keys (1, 1): token0 q=0 -> uniform; token1 q=2 -> uniform as well.
  CHECK(out[1] == Approx(150));
  CHECK(out[3] == Approx(150));
}

TEST_CASE("patch gather: patches row-major, channel fastest inside a patch") {
  const size_t c = 2, s = 4, p = 2;
  std::vector<float> image(c * s * s);
  for (size_t i = 0; i < image.size(); ++i) image[i] = float(i);  // value = (ch * 4 + y) * 4 + x
  std::vector<float> patches(4 * p * p * c);
  ops::gather_patches(image.data(), c, s, p, patches.data());
  auto pixel = [&](size_t ch, size_t y, size_t x) { return float((ch * s + y) * s + x); };
  // Patch 1 is grid (0, 1); its element (row 1, col 0, channel 1) sits at (1 * 2 + 0) * 2 + 1.
  CHECK(patches[1 * 8 + 5] == pixel(1, 1, 2));
  CHECK(patches[0] == pixel(0, 0, 0));
  CHECK(patches[1] == pixel(1, 0, 0));
  CHECK(patches[2] == pixel(0, 0, 1));
  CHECK(patches[3 * 8 + 7] == pixel(1, 3, 3));  // last patch, last element
}
