// Per-image predictions of an evaluation (pfrt-run --eval --predictions): the top-2 logit
// margin, and evaluate()'s per-image logits against one run per image.
#include <doctest/doctest.h>

#include "classify.hpp"
#include "eval_fixture.hpp"

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
  test::EvalFixture f = test::eval_fixture(pfrt::test::tiny_config().branches, 7, 9, 3, 1);
  const pfrt::Model& model = f.model;
  pfrt::Session& session = f.session;
  const LabelledImages& set = f.set;

  std::vector<uint32_t> indices;
  std::vector<std::vector<float>> seen;
  const EvalResult r = evaluate(session, model, set, 0, 4, pfrt::RunOptions{}, Preprocess{}, nullptr,
                                [&](uint32_t index, const float* logits) {
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
