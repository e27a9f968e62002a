// pfrt-convert: config.json + model.safetensors -> model.pfrt.
#include <cstdio>
#include <cstring>
#include <string>

#include "convert.hpp"
#include "convert_error.hpp"
#include "pfrt/pfrt.h"

namespace {

const char kUsage[] =
    "usage: pfrt-convert --config config.json --weights model.safetensors -o model.pfrt [--name NAME] [--quiet]\n"
    "\n"
    "Converts a Para-Former (config.json and model.safetensors, as written by reference/export.py)\n"
    "into one pfrt model file. Every tensor is checked against the config first; the output is\n"
    "written to a temporary file and renamed, so a failed run leaves nothing half-written.\n"
    "\n"
    "  --config PATH     model description (format \"pfrt-paraformer\")\n"
    "  --weights PATH    tensors in safetensors format (F32, F16, BF16 or F64; stored as f32)\n"
    "  -o, --output PATH the model file to write\n"
    "  --name NAME       model name to record (default: config.json's \"name\")\n"
    "  --quiet           print nothing on success\n"
    "  --version         print the version and exit\n";

// As every pfrt tool: one line naming the problem, a hint, exit status 2.
int usage_error(const std::string& message) {
  std::fprintf(stderr, "pfrt-convert: %s\n(run 'pfrt-convert --help' for the options)\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  pfrt::convert::ConvertOptions options;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("pfrt-convert %s (model format %u)\n", pfrt_version(), pfrt_format_version());
      return 0;
    } else if (arg == "--config") {
      if (!value(&options.config_path)) return usage_error("--config needs a path");
    } else if (arg == "--weights") {
      if (!value(&options.weights_path)) return usage_error("--weights needs a path");
    } else if (arg == "-o" || arg == "--output") {
      if (!value(&options.output_path)) return usage_error(arg + " needs a path");
    } else if (arg == "--name") {
      if (!value(&options.name)) return usage_error("--name needs a value");
    } else if (arg == "--quiet") {
      quiet = true;
    } else {
      return usage_error("unknown argument '" + arg + "'");
    }
  }
  if (options.config_path.empty()) return usage_error("--config is required");
  if (options.weights_path.empty()) return usage_error("--weights is required");
  if (options.output_path.empty()) return usage_error("-o is required");

  try {
    const pfrt::convert::ConvertSummary s = pfrt::convert::convert(options);
    if (!quiet) {
      for (const std::string& note : s.converted_dtypes) std::printf("converted %s\n", note.c_str());
      const auto& c = s.config;
      std::printf(
          "%s: %ux%ux%u, patch %u, D=%u, %u heads x %u, MLP %u, B=%u x d=%u, %u classes, %s pooling, "
          "%llu parameters, %llu bytes (weights sha256 %.16s...)\n",
          options.output_path.c_str(), c.image_size, c.image_size, c.channels, c.patch_size, c.embed_dim, c.heads,
          c.head_dim, c.mlp_dim, c.branches, c.blocks_per_branch, c.classes, to_string(c.pooling),
          static_cast<unsigned long long>(s.parameters), static_cast<unsigned long long>(s.output_bytes),
          s.source_sha256.c_str());
    }
  } catch (const pfrt::convert::ConvertError& e) {
    std::fprintf(stderr, "pfrt-convert: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfrt-convert: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
