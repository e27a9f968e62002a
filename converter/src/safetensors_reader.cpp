#include "safetensors_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "convert_error.hpp"
#include "format/model_spec.hpp"
#include "input_file.hpp"

namespace pfrt::convert {

namespace {

using nlohmann::json;

// A header larger than this is not a model's header (the reference implementation uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

[[noreturn]] void bad(const std::string& origin, const std::string& what) { throw ConvertError(origin + ": " + what); }

bool dtype_from_name(const std::string& name, SafetensorsDType* dtype, size_t* width) {
  static const struct {
    const char* name;
    SafetensorsDType dtype;
    size_t width;
  } known[] = {{"F32", SafetensorsDType::kF32, 4},
               {"F16", SafetensorsDType::kF16, 2},
               {"BF16", SafetensorsDType::kBF16, 2},
               {"F64", SafetensorsDType::kF64, 8}};
  for (const auto& k : known) {
    if (name == k.name) {
      *dtype = k.dtype;
      *width = k.width;
      return true;
    }
  }
  return false;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const int exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(float(mantissa), -24);  // zero and subnormals
  } else if (exponent == 31) {
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(float(mantissa | 0x400), exponent - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

template <typename T>
T load_le(const uint8_t* p) {
  // The format is little-endian, as is every platform pfrt targets.
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

SafetensorsTensor parse_entry(const std::string& name, const json& entry, size_t data_bytes,
                              const std::string& origin) {
  if (!entry.is_object()) bad(origin, "header entry for tensor '" + name + "' is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) bad(origin, "tensor '" + name + "' has no '" + key + "' in the header");
  }
  SafetensorsTensor t;
  if (!entry["dtype"].is_string()) bad(origin, "tensor '" + name + "': 'dtype' is not a string");
  t.dtype_name = entry["dtype"].get<std::string>();
  size_t width = 0;
  if (!dtype_from_name(t.dtype_name, &t.dtype, &width)) {
    bad(origin, "tensor '" + name + "' has dtype " + t.dtype_name + "; supported: F32, F16, BF16, F64");
  }
  const json& shape = entry["shape"];
  if (!shape.is_array() || shape.size() > 8)
    bad(origin, "tensor '" + name + "': 'shape' is not a list of at most 8 dims");
  for (const json& dim : shape) {
    if (!dim.is_number_unsigned())
      bad(origin, "tensor '" + name + "': shape " + shape.dump() + " has a non-integer or negative dim");
    const uint64_t v = dim.get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<int64_t>::max()))
      bad(origin, "tensor '" + name + "': dim " + std::to_string(v) + " is too large");
    t.shape.push_back(int64_t(v));
  }
  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    bad(origin, "tensor '" + name + "': 'data_offsets' must be [begin, end] with non-negative integers");
  }
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end) {
    bad(origin, "tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "] are inverted: the begin lies after the end");
  }
  if (end > data_bytes) {
    bad(origin, "tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "] lie outside the " + std::to_string(data_bytes) + " data bytes");
  }
  const uint64_t count = format::element_count(t.shape);
  if (count > (end - begin) / width || count * width != end - begin) {
    bad(origin, "tensor '" + name + "': shape " + format::shape_string(t.shape) + " of " + t.dtype_name + " needs " +
                    (count > uint64_t(1) << 60 ? std::string("more") : std::to_string(count * width)) +
                    " bytes but data_offsets span " + std::to_string(end - begin));
  }
  t.offset = size_t(begin);
  t.bytes = size_t(end - begin);
  return t;
}

}  // namespace

SafetensorsFile SafetensorsFile::read(const std::string& path) { return parse(read_input_file(path), path); }

SafetensorsFile SafetensorsFile::parse(std::vector<uint8_t> bytes, const std::string& origin) {
  SafetensorsFile file;
  file.origin_ = origin;
  file.bytes_ = std::move(bytes);
  const std::vector<uint8_t>& b = file.bytes_;
  if (b.size() < 8)
    bad(origin,
        "not a safetensors file: " + std::to_string(b.size()) + " bytes is shorter than its 8-byte header length");
  const uint64_t header_bytes = load_le<uint64_t>(b.data());
  if (header_bytes > kMaxHeaderBytes || header_bytes > b.size() - 8) {
    bad(origin, "not a safetensors file: header length " + std::to_string(header_bytes) + " exceeds the file (" +
                    std::to_string(b.size()) + " bytes)");
  }
  json header;
  try {
    header = json::parse(b.begin() + 8, b.begin() + 8 + long(header_bytes));
  } catch (const json::exception& e) {
    bad(origin, std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) bad(origin, "safetensors header is not a JSON object");
  file.data_start_ = size_t(8 + header_bytes);
  const size_t data_bytes = b.size() - file.data_start_;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) bad(origin, "'__metadata__' is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) bad(origin, "'__metadata__' value for '" + key + "' is not a string");
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    file.tensors_.emplace(name, parse_entry(name, entry, data_bytes, origin));
  }
  std::vector<std::pair<size_t, std::string>> starts;
  for (const auto& [name, t] : file.tensors_) {
    if (t.bytes) starts.emplace_back(t.offset, name);
  }
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); ++i) {
    const SafetensorsTensor& prev = file.tensors_.at(starts[i - 1].second);
    if (starts[i].first < prev.offset + prev.bytes) {
      bad(origin, "the data of tensors '" + starts[i - 1].second + "' and '" + starts[i].second + "' overlap");
    }
  }
  return file;
}

std::vector<float> SafetensorsFile::to_f32(const std::string& name) const {
  const SafetensorsTensor& t = tensors_.at(name);
  const uint8_t* p = bytes_.data() + data_start_ + t.offset;
  std::vector<float> out;
  switch (t.dtype) {
    case SafetensorsDType::kF32:
      out.resize(t.bytes / 4);
      if (t.bytes != 0) std::memcpy(out.data(), p, t.bytes);  // an empty tensor has no storage
      break;
    case SafetensorsDType::kF16:
      for (size_t i = 0; i < t.bytes / 2; ++i) out.push_back(half_to_float(load_le<uint16_t>(p + 2 * i)));
      break;
    case SafetensorsDType::kBF16:
      for (size_t i = 0; i < t.bytes / 2; ++i) {
        const uint32_t bits = uint32_t(load_le<uint16_t>(p + 2 * i)) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        out.push_back(f);
      }
      break;
    case SafetensorsDType::kF64:
      for (size_t i = 0; i < t.bytes / 8; ++i) {
        const double v = load_le<double>(p + 8 * i);
        if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max())) {
          bad(origin_, "tensor '" + name + "' value " + std::to_string(v) + " does not fit in float32");
        }
        out.push_back(float(v));
      }
      break;
  }
  return out;
}

}  // namespace pfrt::convert
