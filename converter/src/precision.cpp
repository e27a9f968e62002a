#include "precision.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "convert_error.hpp"
#include "pfrt_generated.h"

namespace pfrt::convert {

uint16_t float_to_half(float value, const std::string& what) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const float magnitude = std::fabs(value);
  if (!(magnitude < 65520.0f)) {  // 65520 and above round to infinity; NaN is refused earlier
    throw ConvertError(what + " is " + std::to_string(value) + ", beyond the f16 range (|x| <= 65504)");
  }
  if (magnitude < 6.103515625e-05f) {  // subnormal or zero: multiples of 2^-24, rounded to even
    const float units = std::nearbyint(magnitude * 16777216.0f);
    return uint16_t(sign | uint16_t(units));  // 1024 units is the smallest normal: still correct
  }
  // Normal: round the 23-bit mantissa to 10 bits, ties to even; a carry moves into the exponent.
  uint32_t m = bits & 0x7fffffu;
  uint32_t e = ((bits >> 23) & 0xffu) - 127 + 15;
  const uint32_t rest = m & 0x1fffu;
  m >>= 13;
  if (rest > 0x1000u || (rest == 0x1000u && (m & 1u))) ++m;
  uint32_t half = (e << 10) + m;  // a mantissa carry increments the exponent
  return uint16_t(sign | half);
}

void quantize_per_channel(const float* w, size_t rows, size_t cols, int8_t* q, float* scales) {
  for (size_t n = 0; n < rows; ++n) {
    const float* row = w + n * cols;
    float amax = 0.0f;
    for (size_t k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(row[k]));
    const float s = amax == 0.0f ? 1.0f : amax / 127.0f;
    scales[n] = s;
    for (size_t k = 0; k < cols; ++k) {
      const float v = std::nearbyint(row[k] / s);  // half to even in the default rounding mode
      q[n * cols + k] = int8_t(std::min(127.0f, std::max(-127.0f, v)));
    }
  }
}

WriterTensor stored_tensor(const format::TensorSpec& spec, const std::vector<float>& values,
                           format::Precision precision, const std::string& origin) {
  if (!spec.gemm_weight || precision == format::Precision::kF32) return f32_tensor(spec.name, spec.shape, values);
  WriterTensor t;
  t.name = spec.name;
  t.shape = spec.shape;
  if (precision == format::Precision::kF16) {
    t.dtype = int8_t(fb::DType::F16);
    t.data.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t h = float_to_half(values[i], origin + ": tensor '" + spec.name + "' element " + std::to_string(i));
      t.data[2 * i] = uint8_t(h & 0xffu);
      t.data[2 * i + 1] = uint8_t(h >> 8);
    }
    return t;
  }
  const size_t rows = size_t(spec.shape[0]), cols = rows == 0 ? 0 : values.size() / rows;
  t.dtype = int8_t(fb::DType::I8);
  t.data.resize(values.size());
  t.scales.resize(rows);
  quantize_per_channel(values.data(), rows, cols, reinterpret_cast<int8_t*>(t.data.data()), t.scales.data());
  return t;
}

format::Precision parse_precision(const std::string& text) {
  if (text == "f32") return format::Precision::kF32;
  if (text == "f16") return format::Precision::kF16;
  if (text == "int8") return format::Precision::kInt8;
  throw ConvertError("unknown precision '" + text + "': expected f32, f16 or int8");
}

}  // namespace pfrt::convert
