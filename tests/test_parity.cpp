// Numerical parity with PyTorch: random-weight models of several shapes (tests/make_fixtures.py)
// are converted with the converter library, run on every backend built in, for the full model
// and every prefix of branches, and compared with the logits PyTorch computed for the same
// inputs. Tolerance: max |pfrt - torch| <= 1e-4 * max(1, max |torch logit|).
// Quantised fixtures (fixture.json "precision"; the model converted with --precision) compare
// with reference/quantize.py's fake-quant logits: f16 within 1e-4 of them (1e-2 where the
// backend uses f16 arithmetic: cpu on ARMv8.2) and 1e-2 of the f32 model's; int8 with the same argmax for every input and within 2e-2 (an activation that lands
// on the other side of a rounding step between PyTorch's and pfrt's f32 LayerNorm, attention or
// GELU moves the logits by about a quantisation step; the largest error seen is printed).
// Exits 77 (skipped) when the fixtures were not generated (no PyTorch).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert.hpp"
#include "pfrt/pfrt.hpp"
#include "precision.hpp"
#include "support/test_models.hpp"

namespace {

const std::string kFixtures = PFRT_FIXTURE_DIR;

std::vector<float> read_floats(const std::string& path) {
  const std::vector<uint8_t> bytes = pfrt::test::read_file(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<std::string> fixture_names() {
  std::ifstream in(kFixtures + "/index.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

std::vector<std::string> runnable_backends() {
  std::vector<std::string> names;
  for (size_t i = 0; const char* name = pfrt_backend_name(i); ++i) {
    if (pfrt_backend_check(name) == PFRT_OK) names.push_back(name);
  }
  return names;
}

// Returns max |a - b| / max(1, max |b|).
double relative_error(const float* a, const float* b, size_t n) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

size_t argmax(const float* logits, size_t n) { return size_t(std::max_element(logits, logits + n) - logits); }

}  // namespace

TEST_CASE("logits match PyTorch on every fixture, backend and prefix") {
  const std::vector<std::string> names = fixture_names();
  REQUIRE(!names.empty());
  const std::vector<std::string> backends = runnable_backends();
  REQUIRE(!backends.empty());
  for (const std::string& name : names) {
    const std::string dir = kFixtures + "/" + name;
    pfrt::convert::ConvertOptions options;
    options.config_path = dir + "/config.json";
    options.weights_path = dir + "/model.safetensors";
    options.output_path = dir + "/model.pfrt";
    const nlohmann::json fixture = nlohmann::json::parse(pfrt::test::read_file(dir + "/fixture.json"));
    const std::string precision = fixture.value("precision", std::string("f32"));
    options.precision = pfrt::convert::parse_precision(precision);
    pfrt::convert::convert(options);
    const double base_tolerance = precision == "int8" ? 2e-2 : 1e-4;

    const pfrt::Model model = pfrt::Model::open(options.output_path);
    const pfrt::ModelInfo info = model.info();
    const std::vector<float> input = read_floats(dir + "/input.f32");
    const std::vector<float> expected = read_floats(dir + "/logits.f32");
    const std::vector<float> prefixes = read_floats(dir + "/prefix_logits.f32");
    const size_t batch = input.size() / model.image_floats();
    REQUIRE(expected.size() == batch * info.classes);
    REQUIRE(prefixes.size() == info.branches * batch * info.classes);

    for (const std::string& backend : backends) {
      CAPTURE(name);
      CAPTURE(backend);
      pfrt::Session session(model, {backend, 0, 0});
      // f16 arithmetic (cpu on ARMv8.2) is held to the 1e-2 rather than f32's 1e-4.
      const bool f16_arithmetic = session.describe().find("f16 arithmetic") != std::string::npos;
      const double tolerance = f16_arithmetic ? 1e-2 : base_tolerance;
      const std::vector<float> logits = session.run(input);
      const double err = relative_error(logits.data(), expected.data(), expected.size());
      CHECK_MESSAGE(err <= tolerance, name << " on " << backend << ": relative error " << err);
      if (precision != "f32") {
        for (size_t i = 0; i < batch; ++i) {
          CHECK(argmax(logits.data() + i * info.classes, info.classes) ==
                argmax(expected.data() + i * info.classes, info.classes));
        }
      }
      if (precision == "f16") {
        const std::vector<float> f32 = read_floats(dir + "/f32_logits.f32");
        const double f32_err = relative_error(logits.data(), f32.data(), f32.size());
        CHECK_MESSAGE(f32_err <= 1e-2, name << " on " << backend << ": relative error against f32 " << f32_err);
      }
      for (uint32_t k = 1; k <= info.branches; ++k) {
        CAPTURE(k);
        const std::vector<float> prefix = session.run(input, pfrt::RunOptions{k});
        const float* want = prefixes.data() + (k - 1) * batch * info.classes;
        const double prefix_err = relative_error(prefix.data(), want, prefix.size());
        CHECK_MESSAGE(prefix_err <= tolerance, name << " prefix " << k << " on " << backend << ": " << prefix_err);
      }
      MESSAGE(name << " on " << backend << ": relative error " << err);
    }
  }
}

int main(int argc, char** argv) {
  struct stat st {};
  if (::stat((kFixtures + "/index.txt").c_str(), &st) != 0) {
    std::printf("parity fixtures not found in %s (they need PyTorch: apt-get install python3-torch): skipped\n",
                kFixtures.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
