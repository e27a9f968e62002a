// How pfrt-convert stores a GEMM weight in the model's precision (README, "int8 and f16 models"): f16
// rounded to nearest even, or int8 symmetric per output channel as the int8 contract says
// (reference/quantize.py does the same in PyTorch for fake-quant parity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/model_spec.hpp"
#include "model_writer.hpp"

namespace pfrt::convert {

// IEEE binary16 nearest to `value` (ties to even); throws ConvertError naming `what` when the
// value is beyond the f16 range (|x| > 65504 rounds to infinity).
uint16_t float_to_half(float value, const std::string& what);

// Per-output-channel symmetric int8 of a [rows, cols] row-major matrix: s[n] = max_k |w[n][k]|
// / 127 (1 for a zero row), q[n][k] = clamp(round_half_even(w[n][k] / s[n]), -127, 127).
void quantize_per_channel(const float* w, size_t rows, size_t cols, int8_t* q, float* scales);

// The tensor of `spec` holding `values`: f32, unless it is a GEMM weight of an f16 or int8 model.
// `origin` prefixes errors.
WriterTensor stored_tensor(const format::TensorSpec& spec, const std::vector<float>& values,
                           format::Precision precision, const std::string& origin);

// "f32", "f16" or "int8" to a precision; throws ConvertError for anything else.
format::Precision parse_precision(const std::string& text);

}  // namespace pfrt::convert
