// f16 and int8 models (README, "int8 and f16 models"): what the file records and the loader checks, how
// pfrt-convert stores weights, and the reference backend's arithmetic against the int8 contract
// computed here independently. PyTorch parity of quantised models is in tests/test_parity.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "convert.hpp"
#include "convert_error.hpp"
#include "model_writer.hpp"
#include "pfrt/pfrt.hpp"
#include "pfrt_generated.h"
#include "precision.hpp"
#include "reference/ops.hpp"
#include "support/isa.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

format::ModelConfig with_precision(format::ModelConfig c, format::Precision p) {
  c.quantization = format::Quantization::of(p);
  return c;
}

convert::WriterTensor& named(std::vector<convert::WriterTensor>& tensors, const std::string& name) {
  for (convert::WriterTensor& t : tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  return tensors.front();
}

// Status and message of opening these bytes.
std::pair<pfrt_status, std::string> open_status(const std::vector<uint8_t>& bytes) {
  pfrt_model* model = nullptr;
  const pfrt_status status = pfrt_model_open_buffer(bytes.data(), bytes.size(), &model);
  const std::string message = status == PFRT_OK ? "" : pfrt_last_error();
  pfrt_model_close(model);
  return {status, message};
}

void expect_refused(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  const auto [status, message] = open_status(bytes);
  CHECK_MESSAGE(status == PFRT_INVALID_MODEL, message);
  CHECK_MESSAGE(message.find(fragment) != std::string::npos, "message was: " << message);
}

float half_to_float(uint16_t h) {  // the plain definition, for the tests
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  if (exponent == 0) return sign * std::ldexp(float(mantissa), -24);
  return sign * std::ldexp(float(1024 + mantissa), exponent - 25);
}

// The f16 model of config c32 (seed 1), and the f32 model whose GEMM weights are its, rounded to f16.
struct F16Models {
  std::vector<uint8_t> f32, f16;
};
F16Models f16_models(const format::ModelConfig& c32) {
  auto rounded = test::random_tensors(c32, 1);
  for (const format::TensorSpec& spec : format::expected_tensors(c32)) {
    if (!spec.gemm_weight) continue;
    convert::WriterTensor& t = named(rounded, spec.name);
    std::vector<float> v(t.data.size() / 4);
    std::memcpy(v.data(), t.data.data(), t.data.size());
    for (float& x : v) x = half_to_float(convert::float_to_half(x, "x"));
    t = convert::f32_tensor(t.name, t.shape, v);
  }
  return {convert::serialize_model(c32, rounded, {}), test::model_bytes(with_precision(c32, format::Precision::kF16))};
}

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::string& backend, const std::vector<float>& input) {
  const Model model = Model::from_buffer(bytes.data(), bytes.size());
  Session session(model, {backend, 1, 0});
  return session.run(input);
}

}  // namespace

TEST_CASE("f16: float_to_half rounds to nearest even and refuses values beyond the f16 range") {
  CHECK(convert::float_to_half(1.0f, "x") == 0x3c00);
  CHECK(convert::float_to_half(-2.0f, "x") == 0xc000);
  CHECK(convert::float_to_half(65504.0f, "x") == 0x7bff);
  CHECK(convert::float_to_half(0.0f, "x") == 0x0000);
  CHECK(convert::float_to_half(std::ldexp(1.0f, -24), "x") == 0x0001);         // smallest subnormal
  CHECK(convert::float_to_half(std::ldexp(1.0f, -25), "x") == 0x0000);         // a tie: to even (0)
  CHECK(convert::float_to_half(1.0f + std::ldexp(1.0f, -11), "x") == 0x3c00);  // tie to even mantissa
  CHECK(convert::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11), "x") == 0x3c02);
  CHECK_THROWS_WITH_AS(convert::float_to_half(70000.0f, "tensor 'w' element 3"),
                       doctest::Contains("tensor 'w' element 3 is 70000"), convert::ConvertError);
  // Every f16 value round-trips, and every float goes to the nearest f16.
  const std::vector<float> values = test::random_floats(4000, 11);
  for (float v : values) {
    const float x = v * 300.0f;
    const uint16_t h = convert::float_to_half(x, "x");
    const float back = half_to_float(h);
    const float next = half_to_float(uint16_t(h + 1)), prev = half_to_float(uint16_t(h - 1));
    CHECK(std::fabs(back - x) <= std::fabs(next - x));
    CHECK(std::fabs(back - x) <= std::fabs(prev - x));
    CHECK(convert::float_to_half(back, "x") == h);
  }
}

TEST_CASE("int8: per-output-channel weights as the contract says") {
  const float w[2][4] = {{0.5f, -1.0f, 0.25f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
  int8_t q[8];
  float scales[2];
  convert::quantize_per_channel(&w[0][0], 2, 4, q, scales);
  CHECK(scales[0] == 1.0f / 127.0f);
  CHECK(scales[1] == 1.0f);  // an all-zero row
  CHECK(q[0] == 64);         // 63.5 rounds half to even
  CHECK(q[1] == -127);
  CHECK(q[2] == 32);  // 31.75
  CHECK(q[4] == 0);
}

TEST_CASE("int8: the reference GEMM is the contract's arithmetic") {
  const size_t in = 37, out = 5;
  std::vector<float> x = test::random_floats(in, 3), w = test::random_floats(in * out, 4),
                     b = test::random_floats(out, 5);
  x[7] = 2.5f;  // the row's amax
  std::vector<int8_t> qw(in * out), scratch(in);
  std::vector<float> sw(out), y(out);
  convert::quantize_per_channel(w.data(), out, in, qw.data(), sw.data());
  reference::linear_int8(x.data(), in, qw.data(), sw.data(), b.data(), out, scratch.data(), y.data());
  const float sx = 2.5f / 127.0f, inv = 127.0f / 2.5f;
  for (size_t n = 0; n < out; ++n) {
    int64_t acc = 0;
    for (size_t k = 0; k < in; ++k) {
      const long qx = std::lrint(std::max(-127.0f, std::min(127.0f, x[k] * inv)));
      acc += qx * qw[n * in + k];
    }
    CHECK(y[n] == float(acc) * (sx * sw[n]) + b[n]);
    // and close to the f32 product: the quantisation error is a few percent at most
    double exact = b[n];
    for (size_t k = 0; k < in; ++k) exact += double(x[k]) * w[n * in + k];
    CHECK(y[n] == doctest::Approx(exact).epsilon(0.05).scale(1.0));
  }
  // A row of zeros: scale 0, output the bias.
  std::fill(x.begin(), x.end(), 0.0f);
  reference::linear_int8(x.data(), in, qw.data(), sw.data(), b.data(), out, scratch.data(), y.data());
  for (size_t n = 0; n < out; ++n) CHECK(y[n] == b[n]);
}

TEST_CASE("f16 and int8 models record their precision and open") {
  for (const auto p : {format::Precision::kF32, format::Precision::kF16, format::Precision::kInt8}) {
    const auto bytes = test::model_bytes(with_precision(test::tiny_config(), p));
    const Model model = Model::from_buffer(bytes.data(), bytes.size());
    CHECK(int(model.info().precision) == int(p));
    CHECK(model.info().activations ==
          (p == format::Precision::kInt8 ? PFRT_ACTIVATIONS_DYNAMIC_PER_ROW : PFRT_ACTIVATIONS_NOT_QUANTIZED));
    const auto* m = fb::GetSizePrefixedModel(bytes.data());
    CHECK(m->min_reader_version() == (p == format::Precision::kF32 ? 1u : 2u));
  }
  // Smaller files: GEMM weights are most of a model.
  const auto size = [](format::Precision p) {
    return double(test::model_bytes(with_precision(test::deit_tiny_config(2, 1), p)).size());
  };
  const double f32 = size(format::Precision::kF32);
  CHECK(size(format::Precision::kF16) / f32 == doctest::Approx(0.5).epsilon(0.03));
  CHECK(size(format::Precision::kInt8) / f32 == doctest::Approx(0.26).epsilon(0.05));
}

TEST_CASE("the loader checks quantised tensors") {
  const auto c8 = with_precision(test::tiny_config(), format::Precision::kInt8);
  const auto with = [&](const format::ModelConfig& c,
                        const std::function<void(std::vector<convert::WriterTensor>&)>& edit) {
    auto tensors = test::random_tensors(c, 1);
    edit(tensors);
    return convert::serialize_model(c, tensors, {});
  };
  const std::string qkv = "paraformerbranches.branches.1.0.fn.to_qkv.weight";
  SUBCASE("a scale per output channel") {
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).scales.pop_back(); }),
                   "tensor '" + qkv + "' is I8 with 47 scales; its 48 output channels need one each");
  }
  SUBCASE("finite positive scales") {
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).scales[3] = 0.0f; }),
                   "tensor '" + qkv + "' scale 3 is 0: int8 scales must be finite and positive");
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).scales[0] = std::numeric_limits<float>::quiet_NaN(); }),
                   "scale 0 is nan");
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).scales[1] = -1.0f; }), "scale 1 is -1");
  }
  SUBCASE("symmetric values") {
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).data[5] = 0x80; }),
                   "element 5 is -128: symmetric int8 weights lie in [-127, 127]");
  }
  SUBCASE("sizes") {
    expect_refused(with(c8, [&](auto& t) { named(t, qkv).data.resize(48 * 16 * 4); }),
                   "holds 3072 bytes of data; shape [48, 16] in int8 needs 768");
  }
  SUBCASE("only GEMM weights are quantised") {
    expect_refused(with(c8, [&](auto& t) { named(t, "pos_embedding").scales = {1.0f}; }),
                   "tensor 'pos_embedding' is F32 but has 1 scales");
    expect_refused(with(c8,
                        [&](auto& t) {
                          auto& w = named(t, "mlp_head.1.weight");
                          w = convert::f32_tensor(w.name, w.shape, test::random_floats(160, 2));
                        }),
                   "tensor 'mlp_head.1.weight' has dtype F32; a model of precision int8 stores it as I8");
  }
  SUBCASE("f16 values are finite") {
    const auto c16 = with_precision(test::tiny_config(), format::Precision::kF16);
    expect_refused(with(c16, [&](auto& t) { named(t, qkv).data[9] = 0x7c; }),
                   "tensor '" + qkv + "' element 4 is an f16 infinity or NaN");
  }
  SUBCASE("precision and quantisation agree") {
    auto c = c8;
    c.quantization.activations = format::ActivationQuantization::kNone;
    expect_refused(convert::serialize_model(c, test::random_tensors(c8, 1), {}),
                   "supported are f32 or f16 unquantised, and int8 with weights symmetric per output channel");
  }
}

TEST_CASE("f16 models compute what the f32 model of their rounded weights computes") {
  const auto c32 = test::tiny_config();
  const F16Models models = f16_models(c32);
  const std::vector<float> input = test::random_floats(c32.image_floats() * 1, 9);
  // The cpu backend with its f16 arithmetic switched off (as on x86), where ARM has it.
  test::F16Guard guard;
  cpu::kernels::use_f16_isa("widened");
  for (const char* backend : {"reference", "cpu"}) {
    CHECK(run(models.f16, backend, input) == run(models.f32, backend, input));
  }
  const Model model = Model::from_buffer(models.f16.data(), models.f16.size());
  CHECK(Session(model, {"reference", 1, 0}).describe().find("f16 weights widened to f32") != std::string::npos);
  CHECK(Session(model, {"cpu", 1, 0}).describe().find("f16 weights widened to f32") != std::string::npos);
}

TEST_CASE("f16 models with f16 arithmetic (ARMv8.2): within 1e-2 of the f32 model, same on every thread count") {
  const auto c32 = test::tiny_config();
  const F16Models models = f16_models(c32);
  const std::vector<float> input = test::random_floats(c32.image_floats() * 3, 9);
  const Model f32_model = Model::from_buffer(models.f32.data(), models.f32.size());
  const std::vector<float> want = Session(f32_model, {"reference", 1, 0}).run(input);
  test::for_each_f16_isa([&] {
    const Model model = Model::from_buffer(models.f16.data(), models.f16.size());
    std::vector<float> first;
    for (const int threads : {1, 2, 3}) {
      CAPTURE(threads);
      Session session(model, {"cpu", threads, 0});
      CHECK(session.describe().find("f16 arithmetic (NEON fp16, f32 chunk sums)") != std::string::npos);
      const std::vector<float> got = session.run(input);
      REQUIRE(got.size() == want.size());
      double diff = 0.0, scale = 0.0;
      for (size_t i = 0; i < got.size(); ++i) {
        diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
        scale = std::max(scale, std::fabs(double(want[i])));
      }
      CHECK(diff > 0.0);  // f16 arithmetic, not the f32 of widened weights
      CHECK(diff <= 1e-2 * scale);
      if (threads == 1) MESSAGE("f16 arithmetic: max |logit error| / max |logit| = " << diff / scale);
      if (first.empty()) first = got;
      CHECK(got == first);  // a row's sums do not depend on how the GEMMs are split
    }
  });
}

TEST_CASE("int8 models: the reference backend's logits stay near the f32 model's") {
  const auto c32 = test::tiny_config();
  const auto c8 = with_precision(c32, format::Precision::kInt8);
  const std::vector<float> input = test::random_floats(c32.image_floats(), 9);
  const std::vector<float> f32 = run(test::model_bytes(c32), "reference", input);
  const std::vector<uint8_t> int8_bytes = test::model_bytes(c8);
  const std::vector<float> int8 = run(int8_bytes, "reference", input);
  REQUIRE(f32.size() == int8.size());
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < f32.size(); ++i) {
    worst = std::max(worst, double(std::fabs(f32[i] - int8[i])));
    largest = std::max(largest, double(std::fabs(f32[i])));
  }
  CHECK(worst > 0.0);             // it does quantise
  CHECK(worst < 0.05 * largest);  // random weights: a few percent of the logits' range
  const Model model = Model::from_buffer(int8_bytes.data(), int8_bytes.size());
  CHECK(Session(model, {"reference", 1, 0})
            .describe()
            .find("GEMMs int8 (weights symmetric per output channel, "
                  "activations dynamic per row)") != std::string::npos);
}

TEST_CASE("pfrt-convert --precision: an unknown precision or an f16 overflow is an error and writes no file") {
  CHECK_THROWS_WITH_AS(convert::parse_precision("int4"), "unknown precision 'int4': expected f32, f16 or int8",
                       convert::ConvertError);
  CHECK(convert::parse_precision("int8") == format::Precision::kInt8);
  const auto c = test::tiny_config();
  std::vector<test::RawTensor> raw = test::raw_tensors(c, 1);
  for (test::RawTensor& t : raw) {
    if (t.name != "mlp_head.1.weight") continue;
    const float big = 1e6f;
    std::memcpy(t.data.data() + 4 * 3, &big, 4);
  }
  test::TempDir dir;
  convert::ConvertOptions options;
  options.config_path = dir.write_text("config.json", test::config_json_text(c));
  options.weights_path = dir.write("model.safetensors", test::safetensors_bytes(raw));
  options.output_path = dir.file("model.pfrt");
  options.precision = format::Precision::kF16;
  CHECK_THROWS_WITH_AS(
      convert::convert(options),
      doctest::Contains("tensor 'mlp_head.1.weight' element 3 is 1000000.000000, beyond the f16 range"),
      convert::ConvertError);
  CHECK(dir.list().size() == 2);                 // config.json and model.safetensors: no model, no temporary file
  options.precision = format::Precision::kInt8;  // int8 scales any range
  convert::convert(options);
  const Model model = Model::open(options.output_path);
  CHECK(model.info().precision == PFRT_PRECISION_INT8);
}
