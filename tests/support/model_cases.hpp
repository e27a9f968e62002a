// Model shapes the backend tests share (every pooling, residual form, GELU, projection and
// merge kind, one and several blocks), and what they do with them: make a model, run it, and
// compare logits.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "format/model_spec.hpp"
#include "model/model.hpp"
#include "session/session.hpp"

namespace pfrt::test {

struct ShapeCase {
  const char* name;
  format::ModelConfig config;
};
std::vector<ShapeCase> shape_cases();

// A model of random weights (test::model_bytes) opened from memory.
std::shared_ptr<const core::Model> make_model(const format::ModelConfig& config, uint32_t seed = 1);

// The logits of `input` (a whole number of images) with the prefix 1..branches (0: all).
std::vector<float> run_logits(core::Session& session, const std::vector<float>& input, uint32_t branches = 0);

// max |got - want| / max(1, max |want|): the tolerance measure of the parity tests.
double relative_error(const std::vector<float>& got, const std::vector<float>& want);

}  // namespace pfrt::test
