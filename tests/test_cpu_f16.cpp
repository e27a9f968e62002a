// pfrt's f16 GEMM (cpu::PackedLinearF16 over kernels/gemm_f16_*.cpp) for every f16 kernel the
// CPU runs, against kernels/f16_kernel.hpp's chunked arithmetic written out here as plain loops
// (within 1e-6 relative: the loops round as the kernel does) and against the f32 GEMM on the
// same f16 weights within the bound the chunks give. Where the CPU has no f16 arithmetic (x86)
// those cases say so and check nothing more; the aarch64 build runs them under qemu, whose
// default CPU has ARMv8.2 FP16. Sizes stay small for qemu.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/kernels/kernels.hpp"
#include "cpu/packed_linear.hpp"
#include "cpu/packed_linear_f16.hpp"
#include "pfrt/pfrt.hpp"
#include "reference/ops.hpp"
#include "support/gemm_operands.hpp"
#include "support/isa.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using cpu::Activation;

namespace {

constexpr double kUnit = 1.0 / 2048;  // f16's unit roundoff, 2^-11

// v rounded to the nearest f16 value (ties to even), as a float; beyond the f16 range, infinity.
float round_half(double v) {
  if (v == 0.0 || !std::isfinite(v)) return float(v);
  int e = 0;
  std::frexp(v, &e);                                              // |v| in [2^(e-1), 2^e)
  const double ulp = std::ldexp(1.0, std::max(e - 1, -14) - 10);  // 11 bits; subnormals below 2^-14
  const double r = std::nearbyint(v / ulp) * ulp;
  return std::fabs(r) > 65504.0 ? float(std::copysign(INFINITY, v)) : float(r);
}

using test::Aligned;
using test::kUnwritten;

struct Problem : test::GemmOperands {
  Problem(size_t rows_, size_t in_, size_t out_, bool bias, uint32_t seed)
      : GemmOperands(rows_, in_, out_, bias, seed) {
    for (float& v : w) v = round_half(v);  // an f16 model's weights
  }

  // f16_kernel.hpp's arithmetic with chunks of `chunk` k (dense rows x out), before the epilogue.
  std::vector<float> chunked(size_t chunk) const {
    std::vector<float> y(rows * out);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t n = 0; n < out; ++n) {
        float sum = 0.0f;
        for (size_t k0 = 0; k0 < in; k0 += chunk) {
          float h = 0.0f;  // an f16 value; each step one fused multiply-add rounded to f16
          for (size_t k = k0; k < std::min(in, k0 + chunk); ++k) {
            h = round_half(double(h) + double(w[n * in + k]) * double(round_half(x[r * x_stride + k])));
          }
          sum += h;
        }
        y[r * out + n] = sum + (b.empty() ? 0.0f : b[n]);
      }
    }
    return y;
  }
  // Sum over k of |x w| per output (dense), the scale of the chunks' error bound.
  std::vector<double> magnitude() const {
    std::vector<double> m(rows * out);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t n = 0; n < out; ++n) {
        for (size_t k = 0; k < in; ++k) m[r * out + n] += std::fabs(double(x[r * x_stride + k]) * w[n * in + k]);
      }
    }
    return m;
  }

  std::vector<float> run(const cpu::PackedLinearF16& packed, const cpu::LinearEpilogue& epilogue = {}) const {
    std::vector<float> y = empty_y();
    Aligned h(packed.input_bytes(rows));
    packed.convert(0, rows, x.data(), x_stride, h.p);
    packed.run(0, rows, h.p, y.data(), y_stride, 0, packed.panels(), epilogue);
    return y;
  }
};

// Elements of got (strided) farther than tolerance(i) from want (dense); written padding counts.
template <class Tolerance>
size_t misses(const Problem& p, const std::vector<float>& got, const std::vector<float>& want, const Tolerance& tol) {
  size_t bad = 0;
  for (size_t r = 0; r < p.rows; ++r) {
    for (size_t o = 0; o < p.out; ++o) {
      const size_t i = r * p.out + o;
      const double diff = std::fabs(double(got[r * p.y_stride + o]) - want[i]);
      if (!(diff <= tol(i))) ++bad;
    }
    for (size_t o = p.out; o < p.y_stride; ++o) bad += got[r * p.y_stride + o] != kUnwritten;
  }
  return bad;
}

size_t tight_misses(const Problem& p, const std::vector<float>& got, const std::vector<float>& want) {
  return misses(p, got, want, [&](size_t i) { return 1e-6 * (1.0 + std::fabs(want[i])); });
}

}  // namespace

TEST_CASE("cpu f16 gemm equals the plain chunked f16 arithmetic and stays within its bound of f32: odd sizes") {
  test::for_each_f16_isa([] {
    const size_t chunk = cpu::kernels::f16_gemm_kernel()->chunk;
    // The bound (f16_kernel.hpp): x rounded to f16, then at most `chunk` f16 roundings a sum,
    // relative to sum |x w|; plus the f32 GEMM's own rounding.
    const double bound = kUnit + chunk * kUnit / (1.0 - chunk * kUnit) * (1.0 + kUnit);
    test::for_each_gemm_shape(
        {1, 7, 8, 15, 16, 17, 33, 100}, {1, 15, 16, 17, 40}, {1, 3, 4, 5, 9},
        [&](size_t rows, size_t in, size_t out, bool bias) {
          const Problem p(rows, in, out, bias, uint32_t(in * 7 + out * 3 + rows));
          const std::vector<float> got = p.run(cpu::PackedLinearF16(p.w.data(), in, out, p.bias()));
          CHECK(tight_misses(p, got, p.chunked(chunk)) == 0);
          std::vector<float> f32 = p.empty_y();
          cpu::PackedLinear(p.w.data(), in, out, p.bias())
              .run(rows, p.x.data(), p.x_stride, f32.data(), p.y_stride, 0, out);
          std::vector<float> f32_dense(rows * out);
          for (size_t r = 0; r < rows; ++r) std::copy_n(&f32[r * p.y_stride], out, &f32_dense[r * out]);
          const std::vector<double> m = p.magnitude();
          CHECK(misses(p, got, f32_dense, [&](size_t i) { return bound * m[i] + 1e-6 * (1.0 + m[i]); }) == 0);
        });
    // Many row tiles, long rows of several chunks (a DeiT-Tiny width), every remainder.
    for (const size_t rows : {24, 37}) {
      CAPTURE(rows);
      const Problem p(rows, 192, 77, true, uint32_t(rows));
      CHECK(tight_misses(p, p.run(cpu::PackedLinearF16(p.w.data(), p.in, p.out, p.bias())), p.chunked(chunk)) == 0);
    }
  });
}

TEST_CASE("cpu f16 gemm epilogue: GELU in both forms, then the residual, separate or in place") {
  test::for_each_f16_isa([] {
    const Problem p(6, 45, 21, true, 5);
    const cpu::PackedLinearF16 packed(p.w.data(), p.in, p.out, p.bias());
    const std::vector<float> plain = p.chunked(cpu::kernels::f16_gemm_kernel()->chunk);
    const std::vector<float> residual = test::random_floats(p.rows * p.y_stride, 6);
    for (const Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh}) {
      for (const bool in_place : {false, true}) {
        CAPTURE(int(act));
        CAPTURE(in_place);
        std::vector<float> want = plain;
        if (act != Activation::kNone) {
          reference::gelu(want.data(), want.size(),
                          act == Activation::kGeluErf ? format::Gelu::kErf : format::Gelu::kTanh);
        }
        for (size_t r = 0; r < p.rows; ++r) {
          for (size_t o = 0; o < p.out; ++o) want[r * p.out + o] += residual[r * p.y_stride + o];
        }
        std::vector<float> y = in_place ? residual : p.empty_y();
        Aligned h(packed.input_bytes(p.rows));
        packed.convert(0, p.rows, p.x.data(), p.x_stride, h.p);
        cpu::LinearEpilogue e;
        e.activation = act;
        e.residual = in_place ? y.data() : residual.data();
        e.residual_stride = p.y_stride;
        packed.run(0, p.rows, h.p, y.data(), p.y_stride, 0, packed.panels(), e);
        size_t bad = 0;
        for (size_t r = 0; r < p.rows; ++r) {
          for (size_t o = 0; o < p.out; ++o) {
            const float w = want[r * p.out + o];
            bad += !(std::fabs(y[r * p.y_stride + o] - w) <= 1e-5f * (1.0f + std::fabs(w)));
          }
        }
        CHECK(bad == 0);
      }
    }
  });
}

TEST_CASE("cpu f16 gemm split by rows, panels or GemmTiling items equals one run, bit for bit") {
  test::for_each_f16_isa([] {
    const Problem p(23, 70, 50, true, 11);
    const cpu::PackedLinearF16 packed(p.w.data(), p.in, p.out, p.bias());
    const std::vector<float> whole = p.run(packed);
    Aligned h(packed.input_bytes(p.rows));
    for (const size_t threads : {2, 3, 5}) {
      CAPTURE(threads);
      // The conversion split too: each item converts its own rows first.
      const cpu::GemmTiling t = cpu::gemm_tiling(p.rows, packed.panels(), packed.rows_per_tile(), threads);
      for (size_t i = 0; i < t.items(); ++i) {
        const cpu::GemmItem item = t.item(i);
        packed.convert(item.row_begin, item.row_end, p.x.data(), p.x_stride, h.p);
      }
      std::vector<float> y = p.empty_y();
      for (size_t i = t.items(); i-- > 0;) {
        const cpu::GemmItem item = t.item(i);
        packed.run(item.row_begin, item.row_end, h.p, y.data(), p.y_stride, item.panel_begin, item.panel_end);
      }
      CHECK(y == whole);
    }
  });
}

TEST_CASE("cpu f16 kernels: 'widened' switches f16 arithmetic off, unknown names are refused") {
  test::F16Guard guard;
  cpu::kernels::use_f16_isa("widened");
  CHECK(cpu::kernels::f16_gemm_kernel() == nullptr);
  const std::vector<float> w(12, 0.5f);
  CHECK_THROWS_WITH_AS(cpu::PackedLinearF16(w.data(), 3, 4, nullptr),
                       doctest::Contains("this CPU has no f16 arithmetic (or PFRT_F16_KERNEL=widened)"),
                       std::logic_error);
  CHECK_THROWS_WITH_AS(cpu::kernels::use_f16_isa("avx512-fp16"),
                       doctest::Contains("f16 kernel 'avx512-fp16' is not one this CPU runs"), std::invalid_argument);
  for (const char* name : cpu::kernels::supported_f16_isas()) {
    cpu::kernels::use_f16_isa(name);
    REQUIRE(cpu::kernels::f16_gemm_kernel() != nullptr);
    CHECK(std::string(cpu::kernels::f16_gemm_kernel()->isa) == name);
    const cpu::PackedLinearF16 packed(w.data(), 3, 4, nullptr);
    CHECK(std::string(packed.isa()) == name);
  }
  // Half the packed bytes of f32 (an MLP layer of DeiT-Tiny's width).
  for (const char* name : cpu::kernels::supported_f16_isas()) {
    cpu::kernels::use_f16_isa(name);
    const size_t in = 192, out = 768;
    const std::vector<float> wide(in * out, 0.25f);
    const cpu::PackedLinearF16 packed(wide.data(), in, out, nullptr);
    CHECK(packed.bytes() == cpu::PackedLinearF16::storage_bytes(in, out));
    CHECK(double(packed.bytes()) <= 0.51 * double(cpu::PackedLinear::storage_bytes(in, out)));
  }
}

// CTest runs this case again with PFRT_F16_KERNEL set (tests/CMakeLists.txt, "f16: PFRT_F16_KERNEL=...").
TEST_CASE("PFRT_F16_KERNEL: 'widened' runs f16 models on widened weights, an unknown name is a clear error") {
  const char* env = std::getenv("PFRT_F16_KERNEL");
  if (env == nullptr) {
    MESSAGE("skipped: runs with PFRT_F16_KERNEL set (the CTest tests 'f16: PFRT_F16_KERNEL=...')");
    return;
  }
  format::ModelConfig c = test::tiny_config();
  c.quantization = format::Quantization::of(format::Precision::kF16);
  const std::vector<uint8_t> bytes = test::model_bytes(c);
  const Model model = Model::from_buffer(bytes.data(), bytes.size());
  if (std::string(env) == "widened") {
    CHECK(cpu::kernels::f16_gemm_kernel() == nullptr);
    CHECK(Session(model, {"cpu", 1, 0}).describe().find("f16 weights widened to f32") != std::string::npos);
  } else {
    try {
      Session session(model, {"cpu", 1, 0});
      FAIL("an f16 model's cpu session opened with PFRT_F16_KERNEL=" << env);
    } catch (const Error& e) {
      CHECK(e.status() == PFRT_INVALID_ARGUMENT);
      CHECK_MESSAGE(std::string(e.what()).find("PFRT_F16_KERNEL: f16 kernel '" + std::string(env) +
                                               "' is not one this CPU runs") != std::string::npos,
                    e.what());
    }
    // f32 models do not read it.
    const std::vector<uint8_t> f32 = test::model_bytes(test::tiny_config());
    CHECK(Session(Model::from_buffer(f32.data(), f32.size()), {"cpu", 1, 0})
              .run(test::random_floats(test::tiny_config().image_floats(), 3))
              .size() == test::tiny_config().classes);
  }
}
