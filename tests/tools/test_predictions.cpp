// Per-image predictions of an evaluation (pfrt-run --eval --predictions): the top-2 logit
// margin, and evaluate()'s per-image logits against one run per image.
#include <doctest/doctest.h>

#include "classify.hpp"
#include "support/test_models.hpp"

using namespace pfrt::tools;

TEST_CASE("predictions: top-2 margin is the largest logit minus the second largest") {
  const float a[] = {1.0f, 3.5f, -2.0f, 3.0f, 0.5f};
  CHECK(top_margin(a, 5) == doctest::Approx(0.5));
  const float first_largest[] = {4.0f, 1.0f, 2.0f};
  CHECK(top_margin(first_largest, 3) == doctest::Approx(2.0));
  const float last_largest[] = {-1.0f, -3.0f, 7.0f};
  CHECK(top_margin(last_largest, 3) == doctest::Approx(8.0));
  const float tie[] = {2.0f, 5.0f, 5.0f};
  CHECK(top_margin(tie, 3) == 0.0f);
  const float one[] = {9.0f};
  CHECK(top_margin(one, 1) == 0.0f);
}

TEST_CASE("predictions: evaluate hands over every image's logits, in order") {
  pfrt::format::ModelConfig cfg = pfrt::test::tiny_config();
  const auto bytes = pfrt::test::model_bytes(cfg, 7);
  const pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  pfrt::SessionOptions so;
  so.backend = "reference";
  pfrt::Session session(model, so);
  LabelledImages set;
  set.count = 9;
  set.height = set.width = 28;
  const std::vector<float> noise = pfrt::test::random_floats(9 * 28 * 28, 3);
  for (float v : noise) set.pixels.push_back(uint8_t((v + 1.0f) * 127.5f));
  for (uint32_t i = 0; i < 9; ++i) set.labels.push_back(uint8_t(i % 10));

  std::vector<uint32_t> indices;
  std::vector<std::vector<float>> seen;
  const EvalResult r = evaluate(session, model, set, 0, 4, pfrt::RunOptions{}, Preprocess{}, nullptr, [&](uint32_t index, const float* logits) {
    indices.push_back(index);
    seen.emplace_back(logits, logits + 10);
  });
  CHECK(r.total == 9);
  REQUIRE(indices.size() == 9);
  uint64_t correct = 0;
  for (uint32_t i = 0; i < 9; ++i) {
    CHECK(indices[i] == i);
    const std::vector<float> x = model.normalize(set.pixels.data() + i * 784, 784);
    std::vector<float> logits(10);
    session.run(x.data(), x.size(), logits.data(), logits.size());
    for (size_t k = 0; k < 10; ++k) CHECK(seen[i][k] == doctest::Approx(logits[k]).epsilon(1e-6));
    correct += argmax(seen[i].data(), 10) == set.labels[i];
  }
  CHECK(r.correct == correct);
}
