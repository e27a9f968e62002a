// The safetensors reader: valid files, dtype conversion, and a distinct error for each defect.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "convert_error.hpp"
#include "safetensors_reader.hpp"
#include "support/test_models.hpp"

using pfrt::convert::ConvertError;
using pfrt::convert::SafetensorsFile;
using pfrt::test::RawTensor;

namespace {

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string parse_error(std::vector<uint8_t> bytes) {
  try {
    SafetensorsFile::parse(std::move(bytes), "w.safetensors");
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes = 0) {
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(uint64_t(header.size()) >> (8 * i)));
  for (char ch : header) out.push_back(uint8_t(ch));
  out.resize(out.size() + data_bytes);
  return out;
}

}  // namespace

TEST_CASE("reads f32 tensors and metadata") {
  auto bytes =
      pfrt::test::safetensors_bytes({{"a", "F32", {2, 2}, f32_bytes({1, 2, 3, 4})}, {"b", "F32", {1}, f32_bytes({5})}});
  const auto file = SafetensorsFile::parse(bytes, "w");
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors().at("a").shape == std::vector<int64_t>{2, 2});
  CHECK(file.to_f32("a") == std::vector<float>{1, 2, 3, 4});
  CHECK(file.to_f32("b") == std::vector<float>{5});
}

TEST_CASE("converts F16, BF16 and F64 to f32") {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  const std::vector<uint8_t> f16 = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00};
  // BF16: 1.5 = 0x3fc0.
  const std::vector<uint8_t> bf16 = {0xc0, 0x3f};
  double d = 0.1;
  std::vector<uint8_t> f64(8);
  std::memcpy(f64.data(), &d, 8);
  auto bytes =
      pfrt::test::safetensors_bytes({{"h", "F16", {4}, f16}, {"b", "BF16", {1}, bf16}, {"d", "F64", {1}, f64}});
  const auto file = SafetensorsFile::parse(bytes, "w");
  CHECK(file.to_f32("h") == std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)});
  CHECK(file.to_f32("b") == std::vector<float>{1.5f});
  CHECK(file.to_f32("d") == std::vector<float>{0.1f});
}

TEST_CASE("each malformed file gets its own message") {
  CHECK(parse_error({1, 2, 3}).find("shorter than its 8-byte header length") != std::string::npos);
  CHECK(parse_error({0xff, 0xff, 0, 0, 0, 0, 0, 0}).find("header length 65535 exceeds the file") != std::string::npos);
  CHECK(parse_error(with_header("{not json")).find("not valid JSON") != std::string::npos);
  CHECK(parse_error(with_header("[1,2]")).find("not a JSON object") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8))
            .find("dtype I64; supported") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 4))
            .find("lie outside the 4 data bytes") != std::string::npos);
  // Regression: inverted offsets were reported as "outside the data".
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8))
            .find("data_offsets [8, 4] are inverted: the begin lies after the end") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
            .find("needs 12 bytes but data_offsets span 8") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,8]}})", 8))
            .find("non-integer or negative dim") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", 8))
            .find("needs more bytes") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                12))
            .find("overlap") != std::string::npos);
  CHECK(parse_error(with_header(R"({"a":{"dtype":"F32","shape":[1]}})")).find("has no 'data_offsets'") !=
        std::string::npos);
  CHECK(parse_error(with_header(R"({"__metadata__":{"k":1}})")).find("value for 'k' is not a string") !=
        std::string::npos);
}
