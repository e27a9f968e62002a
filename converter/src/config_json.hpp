// Parser of config.json, the description of a Para-Former that reference/export.py writes
// beside model.safetensors (format "pfrt-paraformer", version 1; README, "config.json").
#pragma once

#include <string>

#include "format/model_spec.hpp"

namespace pfrt::convert {

struct ParsedConfig {
  format::ModelConfig model;
  std::string name;
};

// Parses and validates; unknown keys, wrong types and invalid values are errors naming the key.
ParsedConfig parse_config_json(const std::string& text, const std::string& origin);
ParsedConfig read_config_json(const std::string& path);

}  // namespace pfrt::convert
