#include "config_json.hpp"

#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "convert_error.hpp"
#include "input_file.hpp"

namespace pfrt::convert {

namespace {

using nlohmann::json;

constexpr const char* kFormat = "pfrt-paraformer";
constexpr int kFormatVersion = 1;

class Fields {
 public:
  Fields(const json& j, std::string origin) : j_(j), origin_(std::move(origin)) {}

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    throw ConvertError(origin_ + ": '" + key + "' " + what);
  }

  const json* find(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }

  uint32_t positive(const std::string& key) {
    const json* v = find(key);
    if (!v) bad(key, "is missing");
    if (!v->is_number_integer() || v->get<int64_t>() <= 0 || v->get<int64_t>() > std::numeric_limits<uint32_t>::max()) {
      bad(key, "must be a positive integer, got " + v->dump());
    }
    return uint32_t(v->get<int64_t>());
  }

  std::string choice(const std::string& key, const std::set<std::string>& allowed, const std::string& fallback) {
    const json* v = find(key);
    if (!v) return fallback;
    std::string options;
    for (const std::string& a : allowed) options += (options.empty() ? "" : ", ") + a;
    if (!v->is_string() || !allowed.count(v->get<std::string>()))
      bad(key, "must be one of " + options + ", got " + v->dump());
    return v->get<std::string>();
  }

  std::vector<float> floats(const std::string& key, bool required) {
    const json* v = find(key);
    if (!v) {
      if (required) bad(key, "is missing");
      return {};
    }
    if (!v->is_array()) bad(key, "must be a list of numbers, got " + v->dump());
    std::vector<float> out;
    for (const json& x : *v) {
      if (!x.is_number()) bad(key, "must be a list of numbers, got " + v->dump());
      out.push_back(x.get<float>());
    }
    return out;
  }

  void reject_unknown() const {
    for (const auto& [key, value] : j_.items()) {
      if (!seen_.count(key)) throw ConvertError(origin_ + ": unknown key '" + key + "' (misspelt?)");
    }
  }

 private:
  const json& j_;
  std::string origin_;
  std::set<std::string> seen_;
};

}  // namespace

ParsedConfig parse_config_json(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw ConvertError(origin + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ConvertError(origin + ": must hold a JSON object");
  Fields f(j, origin);

  const json* fmt = f.find("format");
  if (!fmt || !fmt->is_string() || fmt->get<std::string>() != kFormat) {
    f.bad("format", std::string("must be \"") + kFormat + "\" (is this a config.json written by reference/export.py?)");
  }
  if (const json* version = f.find("format_version")) {
    if (!version->is_number_integer() || version->get<int64_t>() < 1)
      f.bad("format_version", "must be a positive integer");
    if (version->get<int64_t>() > kFormatVersion) {
      f.bad("format_version", "is " + version->dump() + "; this converter reads version " +
                                  std::to_string(kFormatVersion) + ": upgrade pfrt");
    }
  }

  ParsedConfig out;
  format::ModelConfig& c = out.model;
  c.image_size = f.positive("image_size");
  c.channels = f.positive("channels");
  c.patch_size = f.positive("patch_size");
  c.embed_dim = f.positive("dim");
  c.heads = f.positive("heads");
  c.head_dim = f.positive("dim_head");
  c.mlp_dim = f.positive("mlp_dim");
  c.branches = f.positive("branches");
  c.blocks_per_branch = f.positive("blocks_per_branch");
  c.classes = f.positive("num_classes");
  c.pooling = f.choice("pool", {"cls", "mean"}, "cls") == "mean" ? format::Pooling::kMean : format::Pooling::kCls;
  c.residual = f.choice("residual", {"normalized", "prenorm"}, "normalized") == "prenorm"
                   ? format::Residual::kPreNorm
                   : format::Residual::kNormalizedInput;
  c.gelu = f.choice("gelu", {"erf", "tanh"}, "erf") == "tanh" ? format::Gelu::kTanh : format::Gelu::kErf;
  const std::string training = f.choice("training", {"progressive", "plain", "unknown"}, "unknown");
  c.training = training == "progressive" ? format::TrainingMode::kProgressive
               : training == "plain"     ? format::TrainingMode::kPlain
                                         : format::TrainingMode::kUnknown;
  if (const json* eps = f.find("layernorm_eps")) {
    if (!eps->is_number()) f.bad("layernorm_eps", "must be a number");
    c.layernorm_eps = eps->get<float>();
  }
  c.merge_weights = f.floats("merge_weights", false);
  c.mean = f.floats("mean", true);
  c.std = f.floats("std", true);
  if (const json* labels = f.find("labels")) {
    if (!labels->is_array()) f.bad("labels", "must be a list of strings");
    for (const json& l : *labels) {
      if (!l.is_string()) f.bad("labels", "must be a list of strings");
      c.labels.push_back(l.get<std::string>());
    }
  }
  if (const json* name = f.find("name")) {
    if (!name->is_string()) f.bad("name", "must be a string");
    out.name = name->get<std::string>();
  }
  f.reject_unknown();
  if (std::string problem = format::validate(c); !problem.empty()) throw ConvertError(origin + ": " + problem);
  return out;
}

ParsedConfig read_config_json(const std::string& path) {
  const std::vector<uint8_t> bytes = read_input_file(path);
  return parse_config_json(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace pfrt::convert
