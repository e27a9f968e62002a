#include "convert.hpp"

#include <cmath>
#include <set>

#include "config_json.hpp"
#include "convert_error.hpp"
#include "model_writer.hpp"
#include "output_file.hpp"
#include "pfrt/pfrt.h"
#include "safetensors_reader.hpp"
#include "sha256.hpp"

namespace pfrt::convert {

namespace {

// Every tensor the config implies must be in the weights file with the right shape, and nothing
// else may be: a leftover tensor means the config does not describe the checkpoint.
void check_tensors(const SafetensorsFile& weights, const std::vector<format::TensorSpec>& specs,
                   const std::string& origin) {
  std::set<std::string> expected;
  for (const format::TensorSpec& spec : specs) {
    expected.insert(spec.name);
    auto it = weights.tensors().find(spec.name);
    if (it == weights.tensors().end()) {
      throw ConvertError(origin + ": missing tensor '" + spec.name + "' (the config needs shape " +
                         format::shape_string(spec.shape) + ")");
    }
    if (it->second.shape != spec.shape) {
      throw ConvertError(origin + ": tensor '" + spec.name + "' has shape " + format::shape_string(it->second.shape) +
                         " but the config needs " + format::shape_string(spec.shape));
    }
  }
  for (const auto& [name, tensor] : weights.tensors()) {
    if (!expected.count(name)) {
      throw ConvertError(origin + ": unexpected tensor '" + name + "' " + format::shape_string(tensor.shape) +
                         " (not part of a model with this config: wrong branches, blocks or heads?)");
    }
  }
}

// The runtime refuses NaN and infinite weights; say so here, naming the tensor, rather than
// writing a file no runtime will load.
void check_finite(const std::vector<float>& values, const std::string& name, const std::string& origin) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw ConvertError(origin + ": tensor '" + name + "' element " + std::to_string(i) + " is " +
                         (std::isnan(values[i]) ? "NaN" : "infinite") +
                         ": weights must be finite (did the training diverge?)");
    }
  }
}

}  // namespace

std::vector<uint8_t> build_model(const ConvertOptions& options, ConvertSummary* summary) {
  ParsedConfig parsed = read_config_json(options.config_path);
  const SafetensorsFile weights = SafetensorsFile::read(options.weights_path);
  const std::vector<format::TensorSpec> specs = format::expected_tensors(parsed.model);
  check_tensors(weights, specs, options.weights_path);

  ConvertSummary s;
  s.config = parsed.model;
  s.name = options.name.empty() ? parsed.name : options.name;
  s.source_sha256 = sha256_hex(weights.bytes().data(), weights.bytes().size());

  std::vector<WriterTensor> tensors;
  for (const format::TensorSpec& spec : specs) {
    const SafetensorsTensor& source = weights.tensors().at(spec.name);
    if (source.dtype != SafetensorsDType::kF32)
      s.converted_dtypes.push_back(spec.name + ": " + source.dtype_name + " -> f32");
    const std::vector<float> values = weights.to_f32(spec.name);
    check_finite(values, spec.name, options.weights_path);
    tensors.push_back(f32_tensor(spec.name, spec.shape, values));
    s.parameters += format::element_count(spec.shape);
  }
  s.tensors = tensors.size();

  WriterHeader header;
  header.producer_version = pfrt_version();
  header.source_sha256 = s.source_sha256;
  header.name = s.name;
  for (const auto& [key, value] : weights.metadata()) header.metadata["safetensors." + key] = value;
  std::vector<uint8_t> bytes = serialize_model(parsed.model, tensors, header);

  // Self-check: what we write must pass the runtime's own verification.
  pfrt_model* model = nullptr;
  if (pfrt_model_open_buffer(bytes.data(), bytes.size(), &model) != PFRT_OK) {
    throw ConvertError(options.output_path +
                       ": internal error, the converted model fails verification: " + pfrt_last_error());
  }
  pfrt_model_close(model);
  s.output_bytes = bytes.size();
  if (summary) *summary = std::move(s);
  return bytes;
}

ConvertSummary convert(const ConvertOptions& options) {
  // Refused before any work: writing the output must never replace an input, nor a device.
  for (const std::string* input : {&options.config_path, &options.weights_path}) {
    if (same_file(options.output_path, *input)) {
      throw ConvertError(options.output_path + ": the output is the same file as the input " + *input +
                         ": pfrt-convert does not overwrite its inputs; choose another -o");
    }
  }
  check_output_path(options.output_path);
  ConvertSummary summary;
  const std::vector<uint8_t> bytes = build_model(options, &summary);
  write_output_file(options.output_path, bytes);
  return summary;
}

}  // namespace pfrt::convert
