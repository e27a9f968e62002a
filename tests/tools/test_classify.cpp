// Preprocessing, softmax/top-k and evaluation, against direct computations over the public API.
#include <doctest/doctest.h>

#include <cmath>

#include "classify.hpp"
#include "eval_fixture.hpp"
#include "support/test_models.hpp"

using namespace pfrt::tools;

TEST_CASE("classify: softmax and top-k") {
  const float logits[] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  const std::vector<float> p = softmax(logits, 5);
  double z = 0;
  for (float l : logits) z += std::exp(double(l));
  for (size_t i = 0; i < 5; ++i) CHECK(p[i] == doctest::Approx(std::exp(double(logits[i])) / z).epsilon(1e-6));
  const std::vector<Ranked> top = top_k(p, 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].index == 1);  // tie with 3: lower index first
  CHECK(top[1].index == 3);
  CHECK(top[2].index == 0);
  CHECK(top_k(p, 99).size() == 5);
  CHECK(argmax(logits, 5) == 1);
}

TEST_CASE("classify: model input is the normalised, resized, channel-converted image") {
  const auto bytes = pfrt::test::model_bytes(pfrt::test::tiny_config());  // 28x28x1, mean 0.5, std 0.25
  const pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  Image rgb;
  rgb.width = rgb.height = 56;
  rgb.channels = 3;
  rgb.pixels.resize(56 * 56 * 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = uint8_t((i * 37) % 251);
  const std::vector<float> x = model_input(model, rgb, Preprocess{});  // auto: area when shrinking
  const Image expected = resize(convert_channels(rgb, 1), 28, 28, ResizeFilter::kArea);
  REQUIRE(x.size() == 28 * 28);
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i] == doctest::Approx((expected.pixels[i] / 255.0 - 0.5) / 0.25).epsilon(1e-6));
  }
}

TEST_CASE("classify: evaluate agrees with one run per image, in batches of an odd size") {
  test::EvalFixture f = test::eval_fixture(3, 5, 11, 9, 3);
  const pfrt::Model& model = f.model;
  pfrt::Session& session = f.session;
  LabelledImages& set = f.set;

  for (uint32_t branches : {0u, 2u}) {
    size_t last_progress = 0;
    pfrt::RunOptions ro;
    ro.branches = branches;
    const EvalResult r =
        evaluate(session, model, set, 10, 4, ro, Preprocess{}, [&](size_t done) { last_progress = done; });
    CHECK(last_progress == 10);
    CHECK(r.total == 10);
    const uint32_t used = branches ? branches : model.info().branches;
    CHECK(r.branches_used[used] == 10);
    uint64_t correct = 0;
    std::vector<uint64_t> confusion(100, 0);
    for (uint32_t i = 0; i < 10; ++i) {
      const std::vector<float> x = model.normalize(set.pixels.data() + i * 784, 784);
      std::vector<float> logits(10);
      session.run(x.data(), x.size(), logits.data(), logits.size(), ro);
      const uint32_t pred = argmax(logits.data(), 10);
      correct += pred == set.labels[i];
      confusion[set.labels[i] * 10 + pred]++;
    }
    CHECK(r.correct == correct);
    CHECK(r.confusion == confusion);
  }

  // Under a deadline: a generous one answers every image with every branch; one that passes
  // before the stem is done leaves every image unanswered, and they count as wrong.
  pfrt::RunOptions generous;
  generous.budget_ms = 1e6;
  generous.best_prefix = true;
  const EvalResult all = evaluate(session, model, set, 0, 1, generous, Preprocess{}, nullptr);
  CHECK(all.branches_used[model.info().branches] == 11);
  CHECK(all.branches_used[0] == 0);
  pfrt::RunOptions hopeless = generous;
  hopeless.budget_ms = 1e-9;
  const EvalResult none = evaluate(session, model, set, 0, 1, hopeless, Preprocess{}, nullptr);
  CHECK(none.total == 11);
  CHECK(none.correct == 0);
  CHECK(none.branches_used[0] == 11);
  uint64_t answered = 0;
  for (uint64_t images : none.confusion) answered += images;
  CHECK(answered == 0);
  pfrt::RunOptions failing = hopeless;
  failing.best_prefix = false;  // without best-prefix mode the deadline is an error
  CHECK_THROWS_AS(evaluate(session, model, set, 0, 1, failing, Preprocess{}, nullptr), pfrt::Error);

  set.labels[0] = 12;  // not a class of the model
  CHECK_THROWS_WITH_AS(evaluate(session, model, set, 0, 4, pfrt::RunOptions{}, Preprocess{}, nullptr),
                       doctest::Contains("label 12 of image 0"), IdxError);
}

TEST_CASE("classify: an evaluation set of another image size is refused, not resized and scored") {
  // Regression: a 32x32 set was resized to the model's 28x28 and scored near chance.
  test::EvalFixture f = test::eval_fixture(2, 3, 4, 5, 1);
  LabelledImages set = f.set;
  set.name = "big-images.idx";
  set.height = set.width = 32;
  set.pixels.assign(size_t(4) * 32 * 32, 100);
  CHECK_THROWS_WITH_AS(evaluate(f.session, f.model, set, 0, 4, pfrt::RunOptions{}, Preprocess{}, nullptr),
                       "big-images.idx: images are 32x32 but the model takes 28x28: an evaluation set must have the "
                       "model's image size (pfrt-run does not resize it)",
                       IdxError);
}
