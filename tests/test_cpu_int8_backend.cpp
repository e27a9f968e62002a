// The cpu backend on int8 models (PackedLinearInt8 GEMMs) against the reference backend, which
// runs the int8 contract in plain loops, on every shape of the backend tests, batches 1 and 3,
// threads 1, 2 and 3. The GEMMs agree bit for bit; the f32 kernels around them (LayerNorm,
// attention, GELU) differ in the last bits, which can move a quantised activation by one step.
// Tolerance: identical argmax for every image, and max |cpu - reference| <= 1e-2 x max(1,
// max |reference|) (what such steps give on these models: the largest seen is printed).
// Results are bitwise identical across thread counts (quantisation is per row, sums exact).
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "session/session.hpp"
#include "support/model_cases.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

size_t argmax(const std::vector<float>& logits, size_t image, size_t classes) {
  const auto begin = logits.begin() + long(image * classes);
  return size_t(std::max_element(begin, begin + long(classes)) - begin);
}

}  // namespace

TEST_CASE("cpu int8 equals the reference int8 within the tolerance, same argmax, every thread count") {
  double worst = 0.0;
  for (test::ShapeCase k : test::shape_cases()) {
    CAPTURE(k.name);
    k.config.quantization = format::Quantization::of(format::Precision::kInt8);
    const auto model = test::make_model(k.config, 7);
    core::Session reference(model, {"reference", 1, 0});
    for (const size_t batch : {1, 3}) {
      CAPTURE(batch);
      const std::vector<float> input = test::random_floats(batch * k.config.image_floats(), uint32_t(batch));
      const std::vector<float> want = test::run_logits(reference, input);
      std::vector<float> first;
      for (const int32_t threads : {1, 2, 3}) {
        CAPTURE(threads);
        core::Session cpu(model, {"cpu", threads, 0});
        const std::vector<float> got = test::run_logits(cpu, input);
        const double error = test::relative_error(got, want);
        worst = std::max(worst, error);
        CHECK(error <= 1e-2);
        for (size_t i = 0; i < batch; ++i) {
          CHECK(argmax(got, i, k.config.classes) == argmax(want, i, k.config.classes));
        }
        if (threads == 1) {
          first = got;
          CHECK(cpu.describe().find("GEMMs int8") != std::string::npos);
        } else {
          CHECK(got == first);
        }
      }
      // A prefix: the first branch alone.
      core::Session cpu(model, {"cpu", 2, 0});
      CHECK(test::relative_error(test::run_logits(cpu, input, 1), test::run_logits(reference, input, 1)) <= 1e-2);
    }
  }
  MESSAGE("largest relative error cpu vs reference (int8): " << worst);
}

TEST_CASE("stage times: the cpu backend times the quantisation of int8 GEMM inputs apart, and f32 has none") {
  for (const format::Precision precision : {format::Precision::kF32, format::Precision::kInt8}) {
    CAPTURE(int(precision));
    test::ShapeCase k = test::shape_cases().front();
    k.config.quantization = format::Quantization::of(precision);
    const auto model = test::make_model(k.config, 11);
    core::Session cpu(model, {"cpu", 2, 0});
    test::run_logits(cpu, test::random_floats(2 * k.config.image_floats(), 12));
    const core::RunProfile& p = cpu.last_profile();
    const double quantize_ms = p.stage_ms[core::kQuantizeStageSlot];
    CHECK(p.stage_flops[core::kQuantizeStageSlot] == 0);  // no multiply-adds
    CHECK(std::string(core::profiled_stage_name(core::kQuantizeStageSlot)) == "quantize");
    if (precision == format::Precision::kInt8) {
      CHECK(quantize_ms > 0.0);
      CHECK(p.stage_ms[size_t(plan::StageKind::kQkv)] > 0.0);  // the GEMM's own time stays its stage's
      CHECK(p.stage_ms[size_t(plan::StageKind::kStem)] > 0.0);
    } else {
      CHECK(quantize_ms == 0.0);
    }
  }
}
