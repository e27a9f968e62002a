// pfrt's rule for non-finite numbers, the same on every backend (docs/network.md, "Non-finite
// and huge inputs"): a NaN or infinite input is refused before any backend sees it, and a run
// whose logits overflow float (finite input so large that an intermediate passes FLT_MAX) fails
// instead of returning them. Both are PFRT_INVALID_ARGUMENT naming the first bad element.
#pragma once

#include <cstddef>

#include "format/model_spec.hpp"

namespace pfrt::core {

// One vectorisable pass over the input; throws (fail) on the first NaN or ±Inf, naming it by
// image, channel, row and column.
void check_finite_input(const format::ModelConfig& config, const float* input, size_t floats);

// Throws (fail) when one of the batch's logits is not finite.
void check_finite_logits(const format::ModelConfig& config, const float* logits, size_t batch);

}  // namespace pfrt::core
