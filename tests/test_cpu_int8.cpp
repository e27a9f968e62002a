// pfrt's int8 GEMM (cpu::PackedLinearInt8 over kernels/gemm_int8*.cpp) for every int8 kernel
// the CPU runs, against the int8 contract written out here as plain loops (per-row dynamic
// quantisation, exact int32 sums, y = float(acc) * (s_x * s_w) + b): every kernel must equal
// it bit for bit, without and with the residual. GELU is checked against reference::gelu
// within 1e-5 * (1 + |y|) (the kernels' erf/tanh approximations). Splitting rows or panels
// must not change a bit. Sizes stay small: the suite also runs under qemu.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/kernels/kernels.hpp"
#include "cpu/packed_linear_int8.hpp"
#include "reference/ops.hpp"
#include "support/gemm_operands.hpp"
#include "support/isa.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using cpu::Activation;

namespace {

constexpr float kUnwritten = 1234.5f;  // fills y's padding, which the GEMM must not touch

// The contract's quantisation of one row, written from the brief (not from the kernels).
void plain_quantize(const float* x, size_t in, std::vector<int>& q, float& scale) {
  float amax = 0.0f;
  for (size_t k = 0; k < in; ++k) amax = std::max(amax, std::fabs(x[k]));
  q.assign(in, 0);
  scale = 0.0f;
  if (amax == 0.0f) return;
  const float inv = 127.0f / amax;
  for (size_t k = 0; k < in; ++k) {
    const float v = std::nearbyint(x[k] * inv);
    q[k] = int(std::min(127.0f, std::max(-127.0f, v)));
  }
  scale = amax / 127.0f;
}

using test::Aligned;

struct Problem {
  size_t rows, in, out, x_stride, y_stride;
  std::vector<float> x, s_w, b;  // x strided; b empty for no bias
  std::vector<int8_t> w;         // [out, in] in [-127, 127]

  Problem(size_t rows_, size_t in_, size_t out_, bool bias, uint32_t seed)
      : rows(rows_),
        in(in_),
        out(out_),
        x_stride(in_ + 3),
        y_stride(out_ + 5),
        x(test::random_floats(rows_ * (in_ + 3), seed)),
        s_w(test::random_floats(out_, seed + 1)),
        b(bias ? test::random_floats(out_, seed + 2) : std::vector<float>()),
        w(out_ * in_) {
    std::mt19937 rng(seed + 3);
    std::uniform_int_distribution<int> dist(-127, 127);
    for (int8_t& v : w) v = int8_t(dist(rng));
    for (float& s : s_w) s = std::fabs(s) * 0.01f;
  }
  const float* bias() const { return b.empty() ? nullptr : b.data(); }
  cpu::PackedLinearInt8 pack() const { return cpu::PackedLinearInt8(w.data(), s_w.data(), in, out, bias()); }
  std::vector<float> empty_y() const { return std::vector<float>(rows * y_stride, kUnwritten); }

  // The contract's y (rows x out, dense), before the epilogue.
  std::vector<float> want() const {
    std::vector<float> y(rows * out);
    std::vector<int> q;
    for (size_t r = 0; r < rows; ++r) {
      float s_x;
      plain_quantize(&x[r * x_stride], in, q, s_x);
      for (size_t n = 0; n < out; ++n) {
        int32_t acc = 0;
        for (size_t k = 0; k < in; ++k) acc += q[k] * int32_t(w[n * in + k]);
        const float scale = s_x * s_w[n];
        const float product = float(acc) * scale;
        y[r * out + n] = product + (b.empty() ? 0.0f : b[n]);
      }
    }
    return y;
  }

  // Quantises all rows and runs every panel.
  std::vector<float> run(const cpu::PackedLinearInt8& packed, const cpu::LinearEpilogue& epilogue = {}) const {
    std::vector<float> y = empty_y();
    Aligned a(packed.activation_bytes(rows));
    packed.quantize(rows, 0, rows, x.data(), x_stride, a.p);
    packed.run(rows, 0, rows, a.p, y.data(), y_stride, 0, packed.panels(), epilogue);
    return y;
  }
};

// Mismatching elements of got (strided) against want (dense), bit for bit; written padding
// counts.
size_t mismatches(const Problem& p, const std::vector<float>& got, const std::vector<float>& want) {
  size_t bad = 0;
  for (size_t r = 0; r < p.rows; ++r) {
    if (std::memcmp(&got[r * p.y_stride], &want[r * p.out], p.out * sizeof(float)) != 0) ++bad;
    for (size_t o = p.out; o < p.y_stride; ++o) bad += got[r * p.y_stride + o] != kUnwritten;
  }
  return bad;
}

}  // namespace

TEST_CASE("cpu int8 gemm equals the contract's plain loops bit for bit: every int8 kernel, odd sizes, bias or not") {
  test::for_each_int8_isa([] {
    test::for_each_gemm_shape({1, 3, 17, 64, 203}, {1, 5, 31, 33, 100}, {1, 2, 7, 9, 13},
                              [](size_t rows, size_t in, size_t out, bool bias) {
                                const Problem p(rows, in, out, bias, uint32_t(in * 7 + out * 3 + rows));
                                CHECK(mismatches(p, p.run(p.pack()), p.want()) == 0);
                              });
    // Many row tiles (whole tiles and every remainder), and the DeiT-Tiny widths.
    for (const size_t rows : {24, 37, 197, 200}) {
      for (const size_t in : {17, 192}) {
        CAPTURE(rows);
        CAPTURE(in);
        const Problem p(rows, in, 77, true, uint32_t(rows));
        CHECK(mismatches(p, p.run(p.pack()), p.want()) == 0);
      }
    }
  });
}

TEST_CASE("cpu int8 quantise: every kernel's activations equal the contract's, edge rows included") {
  const size_t in = 37;
  std::vector<std::vector<float>> rows;
  rows.push_back(test::random_floats(in, 1));
  rows.push_back(std::vector<float>(in, 0.0f));  // a zero row: q = 0, scale 0
  std::vector<float> huge = test::random_floats(in, 2);
  huge[5] = 3e30f;  // one huge element: everything else rounds to 0
  rows.push_back(huge);
  std::vector<float> extremes(in);
  for (size_t k = 0; k < in; ++k) extremes[k] = k % 2 ? 127.0f : -127.0f;  // exactly +-127
  rows.push_back(extremes);
  std::vector<float> ties(in);
  for (size_t k = 0; k < in; ++k) ties[k] = float(int(k) - 18) + 0.5f;  // amax 127 below: ties to even
  ties[0] = -127.0f;
  rows.push_back(ties);
  std::vector<float> tiny(in, 0.0f);
  tiny[3] = 1e-39f;  // denormal amax: 127 / amax overflows to infinity, 0 * inf is NaN -> q 0
  tiny[4] = -5e-40f;
  rows.push_back(tiny);
  std::vector<float> x;
  for (const auto& r : rows) x.insert(x.end(), r.begin(), r.end());
  const size_t n = rows.size();

  test::for_each_int8_isa([&] {
    const std::vector<int8_t> w(in * 3, 1);
    const std::vector<float> s_w(3, 1.0f);
    const cpu::PackedLinearInt8 packed(w.data(), s_w.data(), in, 3, nullptr);
    Aligned a(packed.activation_bytes(n));
    packed.quantize(n, 0, 2, x.data(), in, a.p);  // two row ranges
    packed.quantize(n, 2, n, x.data(), in, a.p);
    for (size_t r = 0; r < n; ++r) {
      CAPTURE(r);
      std::vector<int> q;
      float scale;
      if (r == 5) {  // the contract read literally makes NaN here; pfrt's rule: q = 0
        q.assign(in, 0);
        q[3] = 127;
        q[4] = -127;
        scale = 1e-39f / 127.0f;
      } else {
        plain_quantize(&x[r * in], in, q, scale);
      }
      CHECK(packed.activation_scale(n, a.p, r) == scale);
      size_t bad = 0;
      for (size_t k = 0; k < in; ++k) bad += packed.quantized(a.p, r, k) != q[k];
      CHECK(bad == 0);
    }
    CHECK(packed.quantized(a.p, 4, 18) == 0);  // 0.5 -> 0, 1.5 -> 2, -0.5 -> 0
    CHECK(packed.quantized(a.p, 4, 19) == 2);
    CHECK(packed.quantized(a.p, 4, 17) == 0);
  });
}

TEST_CASE("cpu int8 gemm: extreme weights and inputs over long rows stay exact") {
  test::for_each_int8_isa([] {
    for (const size_t in : {2000, 4099}) {
      CAPTURE(in);
      Problem p(3, in, 19, true, 5);
      for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = i % 19 == 0 ? -127 : 127;
      for (size_t k = 0; k < in; ++k) {
        p.x[k] = -2.0f;                                   // row 0: every q = -127
        p.x[p.x_stride + k] = 3.0f;                       // row 1: every q = 127
        p.x[2 * p.x_stride + k] = k == 7 ? 1e20f : 1.0f;  // row 2: one huge element
      }
      CHECK(mismatches(p, p.run(p.pack()), p.want()) == 0);
    }
  });
}

TEST_CASE("cpu int8 gemm epilogue: GELU in both forms, then the residual, separate or in place") {
  test::for_each_int8_isa([] {
    for (const size_t rows : {1, 9, 40}) {
      const Problem p(rows, 45, 70, true, uint32_t(rows + 1));
      const cpu::PackedLinearInt8 packed = p.pack();
      const std::vector<float> plain = p.want();
      const std::vector<float> res = test::random_floats(rows * p.y_stride, 7);
      for (const Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh}) {
        CAPTURE(rows);
        CAPTURE(int(act));
        std::vector<float> want = plain;
        if (act != Activation::kNone) {
          reference::gelu(want.data(), want.size(),
                          act == Activation::kGeluErf ? format::Gelu::kErf : format::Gelu::kTanh);
        }
        const std::vector<float> separate = p.run(packed, {act, res.data(), p.y_stride});
        std::vector<float> in_place = res;  // y holds the residual before the run
        Aligned a(packed.activation_bytes(rows));
        packed.quantize(rows, 0, rows, p.x.data(), p.x_stride, a.p);
        packed.run(rows, 0, rows, a.p, in_place.data(), p.y_stride, 0, packed.panels(),
                   {act, in_place.data(), p.y_stride});
        const std::vector<float> bare = p.run(packed, {act, nullptr, 0});
        size_t bad = 0, inexact = 0;
        for (size_t r = 0; r < rows; ++r) {
          for (size_t o = 0; o < p.out; ++o) {
            const float g = bare[r * p.y_stride + o], w = want[r * p.out + o];
            bad += !(std::fabs(g - w) <= 1e-5f * (1.0f + std::fabs(w)));
            if (act == Activation::kNone) inexact += std::memcmp(&g, &w, sizeof g) != 0;
            const float with_res = g + res[r * p.y_stride + o];
            inexact += std::memcmp(&separate[r * p.y_stride + o], &with_res, sizeof g) != 0;
            inexact += std::memcmp(&in_place[r * p.y_stride + o], &with_res, sizeof g) != 0;
          }
        }
        CHECK(bad == 0);
        CHECK(inexact == 0);
      }
    }
  });
}

TEST_CASE("cpu int8 gemm split by rows, panels or GemmTiling items equals one run, bit for bit") {
  test::for_each_int8_isa([] {
    for (const size_t rows : {1, 2, 9, 45}) {
      CAPTURE(rows);
      const Problem p(rows, 67, 100, true, 71);
      const cpu::PackedLinearInt8 packed = p.pack();
      const size_t panels = packed.panels();
      const cpu::LinearEpilogue epilogue{Activation::kGeluTanh, nullptr, 0};
      const std::vector<float> whole = p.run(packed, epilogue);

      Aligned a(packed.activation_bytes(rows));
      for (size_t r = 0; r < rows; ++r) packed.quantize(rows, r, r + 1, p.x.data(), p.x_stride, a.p);
      std::vector<float> split = p.empty_y();
      const size_t m = std::min<size_t>(1, panels), n = std::min<size_t>(3, panels);
      for (const auto& range : {std::pair<size_t, size_t>{0, m}, {m, n}, {n, panels}}) {
        packed.run(rows, 0, rows, a.p, split.data(), p.y_stride, range.first, range.second, epilogue);
      }
      CHECK(split == whole);

      for (const size_t threads : {2, 3, 8}) {
        CAPTURE(threads);
        const cpu::GemmTiling tiling = cpu::gemm_tiling(rows, panels, packed.rows_per_tile(), threads);
        std::vector<float> items = p.empty_y();
        for (size_t i = 0; i < tiling.items(); ++i) {
          const cpu::GemmItem it = tiling.item(i);
          packed.run(rows, it.row_begin, it.row_end, a.p, items.data(), p.y_stride, it.panel_begin, it.panel_end,
                     epilogue);
        }
        CHECK(items == whole);
      }

      std::vector<float> by_row = p.empty_y();
      for (size_t r = 0; r < rows; ++r) {
        packed.run(rows, r, r + 1, a.p, by_row.data(), p.y_stride, 0, panels + 3, epilogue);  // clamped
      }
      CHECK(by_row == whole);
    }
  });
}

TEST_CASE("cpu int8 gemm: every kernel equals the scalar one, and each keeps the kernel that packed it") {
  const Problem p(23, 130, 75, true, 81);
  std::vector<cpu::PackedLinearInt8> packed;
  std::vector<std::string> names;
  test::for_each_int8_isa([&] {
    packed.push_back(p.pack());
    names.push_back(cpu::kernels::int8_gemm_kernel().isa);
    CHECK(names.back() == packed.back().isa());
  });
  REQUIRE(!names.empty());
  CHECK(names.back() == "scalar");
  const std::vector<float> scalar = p.run(packed.back());
  test::for_each_int8_isa([&] {  // every packing run under every dispatched kernel
    for (size_t i = 0; i < packed.size(); ++i) {
      CAPTURE(names[i]);
      CHECK(p.run(packed[i]) == scalar);
    }
  });
}

TEST_CASE("cpu int8 gemm: caller storage, moves, no inputs, bad weights") {
  test::for_each_int8_isa([] {
    const Problem p(5, 33, 40, true, 91);
    Aligned storage(cpu::PackedLinearInt8::storage_bytes(p.in, p.out));
    cpu::PackedLinearInt8 outside(p.w.data(), p.s_w.data(), p.in, p.out, p.bias(), storage.p);
    CHECK(outside.bytes() == cpu::PackedLinearInt8::storage_bytes(p.in, p.out));
    CHECK(outside.bytes() % 64 == 0);
    CHECK(mismatches(p, p.run(outside), p.want()) == 0);
    cpu::PackedLinearInt8 moved = std::move(outside);
    CHECK(outside.panels() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK(mismatches(p, p.run(moved), p.want()) == 0);

    const std::vector<float> bias = {0.5f, -2.0f, 3.0f}, s_w = {1.0f, 1.0f, 1.0f};
    const cpu::PackedLinearInt8 none(nullptr, s_w.data(), 0, 3, bias.data());  // in = 0: y = b
    std::vector<float> y(3, kUnwritten);
    Aligned a(none.activation_bytes(1));
    none.quantize(1, 0, 1, nullptr, 0, a.p);
    none.run(1, 0, 1, a.p, y.data(), 3, 0, none.panels());
    CHECK(y == bias);

    std::vector<int8_t> w = p.w;
    w[40] = -128;
    CHECK_THROWS_AS(cpu::PackedLinearInt8(w.data(), p.s_w.data(), p.in, p.out, nullptr), std::invalid_argument);
    const std::vector<int8_t> wide(cpu::PackedLinearInt8::kMaxIn + 1, 1);
    CHECK_THROWS_AS(cpu::PackedLinearInt8(wide.data(), s_w.data(), wide.size(), 1, nullptr), std::invalid_argument);
  });
}

TEST_CASE("cpu int8 kernels: use_int8_isa refuses a kernel the CPU does not run, and use_isa picks its set's best") {
  test::IsaGuard guard;
  const std::vector<const char*> isas = cpu::kernels::supported_int8_isas();
  REQUIRE(!isas.empty());
  std::string names;
  for (const char* isa : isas) names += std::string(names.empty() ? "" : ", ") + isa;
  MESSAGE("int8 kernels this CPU runs: " << names);  // shown with -s (e.g. that qemu runs sdot)
  CHECK(std::string(isas.front()) == cpu::kernels::int8_gemm_kernel().isa);
  CHECK(std::string(isas.back()) == "scalar");
  CHECK_THROWS_AS(cpu::kernels::use_int8_isa("avx1024-vnni"), std::invalid_argument);
  CHECK_THROWS_AS(cpu::kernels::use_int8_isa(nullptr), std::invalid_argument);
  cpu::kernels::use_int8_isa("scalar");
  CHECK(std::string(cpu::kernels::int8_gemm_kernel().isa) == "scalar");
  cpu::kernels::use_isa(cpu::kernels::supported_isas().front());
  CHECK(std::string(cpu::kernels::int8_gemm_kernel().isa) == isas.front());
}
