// What the tests of evaluate() share: a small random model on the reference backend and a
// labelled set of noise images for it (28x28 grey; image i has label (i * label_step) % 10).
#pragma once

#include <cstdint>
#include <vector>

#include "classify.hpp"
#include "support/test_models.hpp"

namespace pfrt::tools::test {

struct EvalFixture {
  Model model;
  Session session;
  LabelledImages set;
};

inline EvalFixture eval_fixture(uint32_t branches, uint32_t model_seed, uint32_t images, uint32_t pixel_seed,
                                uint32_t label_step) {
  format::ModelConfig cfg = pfrt::test::tiny_config();
  cfg.branches = branches;
  const auto bytes = pfrt::test::model_bytes(cfg, model_seed);
  Model model = Model::from_buffer(bytes.data(), bytes.size());
  SessionOptions so;
  so.backend = "reference";
  Session session(model, so);
  LabelledImages set;
  set.count = images;
  set.height = set.width = 28;
  for (float v : pfrt::test::random_floats(size_t(images) * 28 * 28, pixel_seed)) {
    set.pixels.push_back(uint8_t((v + 1.0f) * 127.5f));
  }
  for (uint32_t i = 0; i < images; ++i) set.labels.push_back(uint8_t((i * label_step) % 10));
  return EvalFixture{model, std::move(session), std::move(set)};
}

}  // namespace pfrt::tools::test
