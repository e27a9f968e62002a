#include "session/finite_check.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "error.hpp"

namespace pfrt::core {

namespace {

// Index of the first NaN or ±Inf in x[0, n), or n. The first pass only ORs a bit test over the
// exponent (no branch, so the compiler vectorises it); the search runs only when it found one.
size_t first_non_finite(const float* x, size_t n) {
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    any |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
  }
  if (!any) return n;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return n;
}

std::string describe(float v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

}  // namespace

void check_finite_input(const format::ModelConfig& c, const float* input, size_t floats) {
  const size_t i = first_non_finite(input, floats);
  if (i == floats) return;
  const size_t side = c.image_size, image = size_t(c.image_floats());
  const size_t in_image = i % image;
  fail(PFRT_INVALID_ARGUMENT, "input element " + std::to_string(i) + " (image " + std::to_string(i / image) +
                                  ", channel " + std::to_string(in_image / (side * side)) + ", row " +
                                  std::to_string(in_image / side % side) + ", column " +
                                  std::to_string(in_image % side) + ") is " + describe(input[i]) +
                                  ": pfrt refuses non-finite input (check the preprocessing)");
}

void check_finite_logits(const format::ModelConfig& c, const float* logits, size_t batch) {
  const size_t n = batch * c.classes;
  const size_t i = first_non_finite(logits, n);
  if (i == n) return;
  fail(PFRT_INVALID_ARGUMENT, "logit " + std::to_string(i % c.classes) + " of image " + std::to_string(i / c.classes) +
                                  " is " + describe(logits[i]) +
                                  ": the input is too large for float arithmetic (an intermediate passed 3.4e38); "
                                  "scale it down (pfrt computes inputs up to about 1e30 in magnitude)");
}

}  // namespace pfrt::core
