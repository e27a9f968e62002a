// Operands of one GEMM for the kernel tests (tests/test_cpu_gemm.cpp, test_cpu_f16.cpp,
// test_cpu_int8.cpp): random x, weights and bias with padded rows, y filled with a value the
// GEMM must not write, and 64-byte aligned buffers.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#include "support/test_models.hpp"

namespace pfrt::test {

inline constexpr float kUnwritten = 1234.5f;  // fills y's padding, which the GEMM must not touch

// A buffer of `bytes` bytes, 64-byte aligned.
struct Aligned {
  explicit Aligned(size_t bytes) : p(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)) {}
  ~Aligned() { std::free(p); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  void* p;
};

// x: rows x in, rows x_stride = in + 3 floats apart; w: [out, in]; b: `out` floats, or empty for
// no bias; y rows y_stride = out + 5 floats apart. Values in [-1, 1) from `seed`.
struct GemmOperands {
  size_t rows, in, out;
  size_t x_stride, y_stride;
  std::vector<float> x, w, b;

  GemmOperands(size_t rows_, size_t in_, size_t out_, bool bias, uint32_t seed)
      : rows(rows_),
        in(in_),
        out(out_),
        x_stride(in_ + 3),
        y_stride(out_ + 5),
        x(random_floats(rows_ * (in_ + 3), seed)),
        w(random_floats(out_ * in_, seed + 1)),
        b(bias ? random_floats(out_, seed + 2) : std::vector<float>()) {}
  const float* bias() const { return b.empty() ? nullptr : b.data(); }
  std::vector<float> empty_y() const { return std::vector<float>(rows * y_stride, kUnwritten); }
};

// Calls body(rows, in, out, bias) for every combination of the sizes given, with and without a
// bias, each one CAPTUREd.
template <class F>
void for_each_gemm_shape(std::initializer_list<size_t> ins, std::initializer_list<size_t> outs,
                         std::initializer_list<size_t> row_counts, const F& body) {
  for (const size_t in : ins) {
    for (const size_t out : outs) {
      for (const size_t rows : row_counts) {
        for (const bool bias : {true, false}) {
          CAPTURE(in);
          CAPTURE(out);
          CAPTURE(rows);
          CAPTURE(bias);
          body(rows, in, out, bias);
        }
      }
    }
  }
}

}  // namespace pfrt::test
