// pfrt's GEMM (cpu::PackedLinear over kernels/gemm.cpp) for every instruction set the CPU runs,
// against reference::linear (double accumulation) on random inputs of odd sizes. Tolerance per
// element: |got - want| <= 1e-5 * (1 + |b| + sum_k |x_k w_k|) (float FMA chains of up to 203
// terms; GELU's erf approximation adds under 2e-6 on these values), which a missing term,
// a wrong column or a wrong bias exceeds by orders of magnitude. Splitting a GEMM by panels or
// rows must not change a bit. Sizes stay small: the suite also runs under qemu.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/kernels/kernels.hpp"
#include "cpu/packed_linear.hpp"
#include "reference/ops.hpp"
#include "support/gemm_operands.hpp"
#include "support/isa.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using cpu::Activation;

namespace {

using test::kUnwritten;

struct Problem : test::GemmOperands {
  using GemmOperands::GemmOperands;
  cpu::PackedLinear pack() const { return cpu::PackedLinear(w.data(), in, out, bias()); }

  // The reference's y (rows x out, dense) and the tolerance of each element.
  void want(Activation act, const std::vector<float>& residual, size_t residual_stride, std::vector<float>& y,
            std::vector<double>& tol) const {
    std::vector<float> dense(rows * in);
    for (size_t r = 0; r < rows; ++r) std::copy_n(&x[r * x_stride], in, &dense[r * in]);
    y.assign(rows * out, 0.0f);
    reference::linear(dense.data(), rows, in, w.data(), bias(), out, y.data());
    if (act != Activation::kNone) {
      reference::gelu(y.data(), y.size(), act == Activation::kGeluErf ? format::Gelu::kErf : format::Gelu::kTanh);
    }
    tol.assign(rows * out, 0.0);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t o = 0; o < out; ++o) {
        double s = b.empty() ? 0.0 : std::fabs(double(b[o]));
        for (size_t k = 0; k < in; ++k) s += std::fabs(double(dense[r * in + k]) * double(w[o * in + k]));
        tol[r * out + o] = 1e-5 * (1.0 + s);
        if (!residual.empty()) y[r * out + o] += residual[r * residual_stride + o];
      }
    }
  }
};

// Worst |got - want| / tolerance (<= 1 passes); padding of y written counts as a failure.
double worst(const Problem& p, const std::vector<float>& got, const std::vector<float>& want,
             const std::vector<double>& tol) {
  double w = 0.0;
  for (size_t r = 0; r < p.rows; ++r) {
    for (size_t o = 0; o < p.out; ++o) {
      const double d = std::fabs(double(got[r * p.y_stride + o]) - double(want[r * p.out + o]));
      w = std::max(w, std::isfinite(d) ? d / tol[r * p.out + o] : 1e30);
    }
    for (size_t o = p.out; o < p.y_stride; ++o) {
      if (got[r * p.y_stride + o] != kUnwritten) w = 1e30;
    }
  }
  return w;
}

// Runs p with the given epilogue (the residual separate, or y itself) and compares.
void check(const Problem& p, Activation act, bool residual, bool in_place) {
  const cpu::PackedLinear packed = p.pack();
  std::vector<float> y = p.empty_y(), res, want;
  std::vector<double> tol;
  cpu::LinearEpilogue epilogue;
  epilogue.activation = act;
  if (residual) {
    const size_t stride = in_place ? p.y_stride : p.out + 2;
    res = test::random_floats(p.rows * stride, 99);
    if (in_place) {
      for (size_t r = 0; r < p.rows; ++r) std::copy_n(&res[r * stride], p.out, &y[r * stride]);
    }
    epilogue.residual = in_place ? y.data() : res.data();
    epilogue.residual_stride = stride;
    p.want(act, res, stride, want, tol);
  } else {
    p.want(act, {}, 0, want, tol);
  }
  packed.run(p.rows, p.x.data(), p.x_stride, y.data(), p.y_stride, 0, packed.panels(), epilogue);
  CHECK(worst(p, y, want, tol) <= 1.0);
}

}  // namespace

TEST_CASE("cpu gemm matches the reference for every instruction set, odd sizes, strided rows, with and without bias") {
  test::IsaGuard guard;
  for (const char* isa : cpu::kernels::supported_isas()) {
    CAPTURE(isa);
    cpu::kernels::use_isa(isa);
    for (const size_t in : {1, 3, 17, 192, 203}) {
      for (const size_t out : {1, 5, 31, 33, 100, 577}) {
        for (const size_t rows : {1, 2, 7, 9}) {
          for (const bool bias : {true, false}) {
            CAPTURE(in);
            CAPTURE(out);
            CAPTURE(rows);
            CAPTURE(bias);
            check(Problem(rows, in, out, bias, uint32_t(in * 7 + out * 3 + rows)), Activation::kNone, false, false);
          }
        }
      }
    }
    // Many row tiles (the whole-tile loop and a remainder).
    for (const size_t in : {17, 192, 203}) {
      for (const size_t out : {31, 100}) {
        CAPTURE(in);
        CAPTURE(out);
        check(Problem(197, in, out, true, 5), Activation::kNone, false, false);
      }
    }
  }
}

TEST_CASE("cpu gemm epilogue: GELU in both forms, then the residual, separate or in place") {
  test::IsaGuard guard;
  struct Shape {
    size_t rows, in, out;
  };
  for (const char* isa : cpu::kernels::supported_isas()) {
    CAPTURE(isa);
    cpu::kernels::use_isa(isa);
    for (const Shape s :
         {Shape{1, 17, 33}, Shape{2, 3, 5}, Shape{7, 192, 100}, Shape{9, 203, 577}, Shape{197, 17, 31}}) {
      for (const Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh}) {
        for (const int residual : {0, 1, 2}) {  // none, separate, y itself
          CAPTURE(s.rows);
          CAPTURE(s.in);
          CAPTURE(s.out);
          CAPTURE(int(act));
          CAPTURE(residual);
          check(Problem(s.rows, s.in, s.out, true, uint32_t(s.rows + s.out)), act, residual > 0, residual == 2);
        }
      }
    }
  }
}

TEST_CASE("cpu gemm epilogue equals the bias GEMM followed by kernels::gelu and kernels::add, bit for bit") {
  test::IsaGuard guard;
  for (const char* isa : cpu::kernels::supported_isas()) {
    CAPTURE(isa);
    cpu::kernels::use_isa(isa);
    const Problem p(9, 37, 70, true, 61);
    const cpu::PackedLinear packed = p.pack();
    const std::vector<float> res = test::random_floats(p.rows * p.y_stride, 62);
    for (const Activation act : {Activation::kGeluErf, Activation::kGeluTanh}) {
      CAPTURE(int(act));
      std::vector<float> fused = res, separate = p.empty_y();
      packed.run(p.rows, p.x.data(), p.x_stride, fused.data(), p.y_stride, 0, packed.panels(),
                 {act, fused.data(), p.y_stride});
      packed.run(p.rows, p.x.data(), p.x_stride, separate.data(), p.y_stride, 0, packed.panels());
      for (size_t r = 0; r < p.rows; ++r) {
        float* row = separate.data() + r * p.y_stride;
        cpu::kernels::gelu(row, p.out, act == Activation::kGeluErf ? format::Gelu::kErf : format::Gelu::kTanh);
        cpu::kernels::add(row, res.data() + r * p.y_stride, row, p.out);
        CHECK(std::memcmp(row, fused.data() + r * p.y_stride, p.out * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("cpu gemm split by panel ranges, by work items or row by row equals one run, bit for bit") {
  test::IsaGuard guard;
  for (const char* isa : cpu::kernels::supported_isas()) {
    CAPTURE(isa);
    cpu::kernels::use_isa(isa);
    for (const size_t rows : {1, 2, 9, 45}) {
      CAPTURE(rows);
      const Problem p(rows, 67, 100, true, 71);
      const cpu::PackedLinear packed = p.pack();
      const size_t panels = packed.panels();
      const cpu::LinearEpilogue epilogue{Activation::kGeluTanh, nullptr, 0};
      std::vector<float> whole = p.empty_y();
      packed.run(rows, p.x.data(), p.x_stride, whole.data(), p.y_stride, 0, panels, epilogue);

      std::vector<float> split = p.empty_y();
      const size_t a = std::min<size_t>(1, panels), b = std::min<size_t>(3, panels);
      for (const auto& range : {std::pair<size_t, size_t>{0, a}, {a, b}, {b, panels}}) {
        packed.run(rows, p.x.data(), p.x_stride, split.data(), p.y_stride, range.first, range.second, epilogue);
      }
      CHECK(split == whole);

      for (const size_t threads : {2, 3, 8}) {
        CAPTURE(threads);
        const cpu::GemmTiling tiling = cpu::gemm_tiling(rows, panels, packed.rows_per_tile(), threads);
        std::vector<float> items = p.empty_y();
        for (size_t i = 0; i < tiling.items(); ++i) {
          const cpu::GemmItem it = tiling.item(i);
          packed.run(it.row_end - it.row_begin, p.x.data() + it.row_begin * p.x_stride, p.x_stride,
                     items.data() + it.row_begin * p.y_stride, p.y_stride, it.panel_begin, it.panel_end, epilogue);
        }
        CHECK(items == whole);
      }

      std::vector<float> by_row = p.empty_y();
      for (size_t r = 0; r < rows; ++r) {
        packed.run(1, p.x.data() + r * p.x_stride, p.x_stride, by_row.data() + r * p.y_stride, p.y_stride, 0, panels,
                   epilogue);
      }
      CHECK(by_row == whole);
    }
  }
}

TEST_CASE("cpu gemm keeps the instruction set that packed its weights") {
  test::IsaGuard guard;
  const std::vector<const char*> isas = cpu::kernels::supported_isas();
  const Problem p(9, 33, 45, true, 81);
  std::vector<cpu::PackedLinear> packed;
  for (const char* isa : isas) {
    cpu::kernels::use_isa(isa);
    packed.push_back(p.pack());
    CHECK(std::string(packed.back().isa()) == isa);
  }
  std::vector<float> want;
  std::vector<double> tol;
  p.want(Activation::kNone, {}, 0, want, tol);
  for (const char* isa : isas) {  // every packing run under every dispatched set
    cpu::kernels::use_isa(isa);
    for (const cpu::PackedLinear& linear : packed) {
      CAPTURE(isa);
      CAPTURE(linear.isa());
      std::vector<float> y = p.empty_y();
      linear.run(p.rows, p.x.data(), p.x_stride, y.data(), p.y_stride, 0, linear.panels());
      CHECK(worst(p, y, want, tol) <= 1.0);
    }
  }
}

TEST_CASE("cpu gemm edge cases: no inputs, moved-from and empty linears, empty ranges") {
  const std::vector<float> bias = {0.5f, -2.0f, 3.0f};
  const cpu::PackedLinear none(nullptr, 0, 3, bias.data());  // in = 0: y = b
  std::vector<float> y(3, kUnwritten);
  none.run(1, nullptr, 0, y.data(), 3, 0, none.panels());
  CHECK(y == bias);

  const Problem p(2, 5, 7, true, 91);
  cpu::PackedLinear a = p.pack();
  const size_t bytes = a.bytes();
  CHECK(bytes >= (5 + 1) * 7 * sizeof(float));
  CHECK(bytes % 64 == 0);
  cpu::PackedLinear b = std::move(a);
  CHECK(a.panels() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
  CHECK(b.bytes() == bytes);
  std::vector<float> got = p.empty_y(), want;
  std::vector<double> tol;
  a.run(p.rows, p.x.data(), p.x_stride, got.data(), p.y_stride, 0, 1);  // nothing to run
  b.run(0, p.x.data(), p.x_stride, got.data(), p.y_stride, 0, b.panels());
  b.run(p.rows, p.x.data(), p.x_stride, got.data(), p.y_stride, 1, 1);
  CHECK(got == p.empty_y());
  b.run(p.rows, p.x.data(), p.x_stride, got.data(), p.y_stride, 0, b.panels() + 5);  // clamped to panels()
  p.want(Activation::kNone, {}, 0, want, tol);
  CHECK(worst(p, got, want, tol) <= 1.0);
}

TEST_CASE("cpu gemm tiling covers every row and panel once, in whole register tiles, balanced") {
  CHECK(cpu::gemm_tiling(197, 24, 8, 1).items() == 1);
  const cpu::GemmTiling fc1 = cpu::gemm_tiling(197, 24, 8, 2);  // DeiT-Tiny fc1 on 2 threads
  CHECK(fc1.items() == 8);
  CHECK(fc1.row_blocks == 2);  // each thread's range of 4 items is its own 13 or 12 row tiles
  CHECK(fc1.rows_per_block == 104);
  CHECK(fc1.panels_per_block == 6);
  CHECK(cpu::gemm_tiling(0, 24, 8, 2).items() == 0);
  CHECK(cpu::gemm_tiling(1, 1, 8, 4).items() == 1);

  for (const size_t rows : {1, 7, 8, 9, 45, 197, 1000}) {
    for (const size_t panels : {1, 5, 6, 18, 24, 100}) {
      for (const size_t mr : {4, 6, 8}) {
        for (const size_t threads : {1, 2, 3, 4, 16}) {
          CAPTURE(rows);
          CAPTURE(panels);
          CAPTURE(mr);
          CAPTURE(threads);
          const cpu::GemmTiling t = cpu::gemm_tiling(rows, panels, mr, threads);
          const size_t tiles = (rows + mr - 1) / mr * panels;
          CHECK(t.rows_per_block % mr == 0);
          CHECK(t.items() >= 1);
          CHECK(t.items() <= 4 * threads);
          if (threads == 1) CHECK(t.items() == 1);
          std::vector<int> seen(rows * panels, 0);
          size_t largest = 0;  // register tiles of the largest item
          for (size_t i = 0; i < t.items(); ++i) {
            const cpu::GemmItem it = t.item(i);
            REQUIRE(it.row_begin < it.row_end);
            REQUIRE(it.row_end <= rows);
            REQUIRE(it.panel_begin < it.panel_end);
            REQUIRE(it.panel_end <= panels);
            CHECK(it.row_begin % mr == 0);
            largest = std::max(largest, (it.row_end - it.row_begin + mr - 1) / mr * (it.panel_end - it.panel_begin));
            for (size_t r = it.row_begin; r < it.row_end; ++r) {
              for (size_t q = it.panel_begin; q < it.panel_end; ++q) ++seen[r * panels + q];
            }
          }
          CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
          // Balanced: with 4 tiles a thread or more, the busiest thread (items dealt in turn)
          // has at most 4/3 of an even share.
          const size_t busiest = (t.items() + threads - 1) / threads * largest;
          if (tiles >= 4 * threads) CHECK(3 * busiest * threads <= 4 * tiles);
        }
      }
    }
  }
}

TEST_CASE("cpu kernels: use_isa refuses an instruction set the CPU does not run") {
  test::IsaGuard guard;
  const std::vector<const char*> isas = cpu::kernels::supported_isas();
  REQUIRE(!isas.empty());
  CHECK(std::string(isas.front()) == cpu::kernels::kernel_isa());
  CHECK_THROWS_AS(cpu::kernels::use_isa("avx1024"), std::invalid_argument);
  CHECK_THROWS_AS(cpu::kernels::use_isa(nullptr), std::invalid_argument);
  CHECK(std::string(cpu::kernels::kernel_isa()) == isas.front());
  cpu::kernels::use_isa(isas.back());
  CHECK(std::string(cpu::kernels::kernel_isa()) == isas.back());
}
