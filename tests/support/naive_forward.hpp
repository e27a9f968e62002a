// docs/network.md's network written out directly with reference/ops, one image at a time: every
// block computes every row, the merge sums whole branch outputs, then pools. No execution
// plan, no class-row saving: what the plan-driven backends are checked against where PyTorch
// is not installed, and what shows that the plan's rewrites (class row, pool before merge)
// leave the logits unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.hpp"

namespace pfrt::test {

// Logits of one image (C x S x S floats) with the prefix of branches 1..branches.
std::vector<float> naive_logits(const core::Model& model, const float* image, uint32_t branches);

}  // namespace pfrt::test
