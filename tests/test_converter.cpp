// pfrt-convert as a library: config.json parsing, tensor checks, atomic output, round trip.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <limits>

#include "config_json.hpp"
#include "convert.hpp"
#include "convert_error.hpp"
#include "model/model.hpp"
#include "pfrt/pfrt.hpp"
#include "sha256.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using convert::ConvertError;
using test::TempDir;

namespace {

std::string config_error(const std::string& text) {
  try {
    convert::parse_config_json(text, "config.json");
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

struct Workspace {
  TempDir dir;
  format::ModelConfig config = test::tiny_config();
  convert::ConvertOptions options;

  Workspace() {
    config.labels = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    options.config_path = dir.write_text("config.json", test::config_json_text(config));
    options.weights_path = dir.write("model.safetensors", test::safetensors_bytes(test::raw_tensors(config, 7)));
    options.output_path = dir.file("model.pfrt");
  }

  void set_weights(const std::vector<test::RawTensor>& tensors) {
    dir.write("model.safetensors", test::safetensors_bytes(tensors));
  }

  std::string convert_error() {
    try {
      convert::convert(options);
    } catch (const ConvertError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

}  // namespace

TEST_CASE("config.json: the export format parses to the same config") {
  format::ModelConfig c = test::tiny_config();
  c.pooling = format::Pooling::kMean;
  c.residual = format::Residual::kPreNorm;
  c.gelu = format::Gelu::kTanh;
  c.training = format::TrainingMode::kProgressive;
  c.merge_weights = {0.5f, 2.0f};
  const auto parsed = convert::parse_config_json(test::config_json_text(c, "n"), "config.json");
  CHECK(parsed.name == "n");
  CHECK(parsed.model.pooling == format::Pooling::kMean);
  CHECK(parsed.model.residual == format::Residual::kPreNorm);
  CHECK(parsed.model.gelu == format::Gelu::kTanh);
  CHECK(parsed.model.training == format::TrainingMode::kProgressive);
  CHECK(parsed.model.merge_weights == std::vector<float>{0.5f, 2.0f});
  CHECK(parsed.model.tokens() == 17);
}

TEST_CASE("config.json: each bad field is named") {
  const std::string good = test::config_json_text(test::tiny_config());
  CHECK(config_error("{").find("not valid JSON") != std::string::npos);
  CHECK(config_error("[]").find("must hold a JSON object") != std::string::npos);
  CHECK(config_error(replace(good, "\"pfrt-paraformer\"", "\"other\"")).find("'format' must be") != std::string::npos);
  CHECK(config_error(replace(good, "\"format_version\": 1", "\"format_version\": 9")).find("upgrade pfrt") !=
        std::string::npos);
  CHECK(config_error(replace(good, "\"heads\": 2", "\"heads\": -2")).find("'heads' must be a positive integer") !=
        std::string::npos);
  CHECK(config_error(replace(good, "\"heads\": 2", "\"hedas\": 2")).find("'heads' is missing") != std::string::npos);
  CHECK(config_error(replace(good, "\"dim\": 16", "\"dim\": 16, \"typo\": 1")).find("unknown key 'typo'") !=
        std::string::npos);
  CHECK(config_error(replace(good, "\"pool\": \"cls\"", "\"pool\": \"max\"")).find("'pool' must be one of cls, mean") !=
        std::string::npos);
  CHECK(config_error(replace(good, "\"patch_size\": 7", "\"patch_size\": 5")).find("not a multiple of 'patch_size'") !=
        std::string::npos);
  CHECK(config_error(replace(good, "\"std\": [\n    0.25\n  ]", "\"std\": [\"a\"]"))
            .find("'std' must be a list of numbers") != std::string::npos);
}

TEST_CASE("convert: a valid checkpoint round-trips bit for bit") {
  Workspace w;
  const convert::ConvertSummary s = convert::convert(w.options);
  CHECK(s.tensors == format::expected_tensors(w.config).size());
  const std::vector<uint8_t> weights = test::read_file(w.options.weights_path);
  CHECK(s.source_sha256 == convert::sha256_hex(weights.data(), weights.size()));

  Model model = Model::open(w.options.output_path);
  const ModelInfo info = model.info();
  CHECK(info.branches == 2);
  CHECK(info.tokens == 17);
  CHECK(info.parameters == s.parameters);
  CHECK(model.label(3) == "three");
  CHECK(model.label(10).empty());
  CHECK(model.name() == "test-model");
  CHECK(model.metadata("producer") == "pfrt-convert");
  CHECK(model.metadata("source_sha256") == s.source_sha256);

  // Every tensor's bytes equal the source's.
  const auto internal = core::Model::open(w.options.output_path);
  const auto source = test::random_tensors(w.config, 7);
  const auto& wts = internal->weights();
  auto same = [&](const float* p, const std::string& name) {
    for (const auto& t : source) {
      if (t.name == name) return std::memcmp(p, t.data.data(), t.data.size()) == 0;
    }
    return false;
  };
  CHECK(same(wts.patch_weight, "to_patch_embedding.1.weight"));
  CHECK(same(wts.head_bias, "mlp_head.1.bias"));
  CHECK(same(wts.branches[1][0].fc2_weight, "paraformerbranches.branches.1.1.fn.net.3.weight"));
  CHECK(same(wts.branches[0][0].qkv_weight, "paraformerbranches.branches.0.0.fn.to_qkv.weight"));
}

TEST_CASE("convert: missing, extra, misshapen and mistyped tensors are named") {
  Workspace w;
  auto tensors = test::raw_tensors(w.config, 7);

  SUBCASE("missing") {
    tensors.erase(tensors.begin() + 3);
    w.set_weights(tensors);
    CHECK(w.convert_error().find("missing tensor 'pos_embedding' (the config needs shape [1, 17, 16])") !=
          std::string::npos);
  }
  SUBCASE("extra") {
    tensors.push_back({"paraformerbranches.branches.2.0.norm.weight", "F32", {16}, std::vector<uint8_t>(64)});
    w.set_weights(tensors);
    CHECK(w.convert_error().find("unexpected tensor 'paraformerbranches.branches.2.0.norm.weight' [16]") !=
          std::string::npos);
  }
  SUBCASE("wrong shape") {
    tensors[0].shape = {49, 16};
    w.set_weights(tensors);
    CHECK(w.convert_error().find(
              "tensor 'to_patch_embedding.1.weight' has shape [49, 16] but the config needs [16, 49]") !=
          std::string::npos);
  }
  SUBCASE("unsupported dtype") {
    tensors[1].dtype = "I32";
    w.set_weights(tensors);
    CHECK(w.convert_error().find("dtype I32; supported: F32, F16, BF16, F64") != std::string::npos);
  }
  SUBCASE("config and weights disagree on the branch count") {
    format::ModelConfig four = w.config;
    four.branches = 4;
    w.dir.write_text("config.json", test::config_json_text(four));
    CHECK(w.convert_error().find("missing tensor 'paraformerbranches.branches.2.0.norm.weight'") != std::string::npos);
  }
  SUBCASE("unreadable inputs") {
    w.options.weights_path = w.dir.file("absent.safetensors");
    CHECK(w.convert_error().find("absent.safetensors: cannot open") != std::string::npos);
  }
}

TEST_CASE("convert: F16 weights are stored as f32") {
  Workspace w;
  auto tensors = test::raw_tensors(w.config, 7);
  tensors[1].dtype = "F16";  // to_patch_embedding.1.bias, 16 values
  tensors[1].data.assign(32, 0);
  tensors[1].data[1] = 0x3c;  // first value 1.0
  w.set_weights(tensors);
  const auto s = convert::convert(w.options);
  REQUIRE(s.converted_dtypes.size() == 1);
  CHECK(s.converted_dtypes[0] == "to_patch_embedding.1.bias: F16 -> f32");
  CHECK(core::Model::open(w.options.output_path)->weights().patch_bias[0] == 1.0f);
}

TEST_CASE("convert: a failed run leaves no partial output and keeps an existing file") {
  Workspace w;
  const std::vector<uint8_t> previous = {'o', 'l', 'd'};
  w.dir.write("model.pfrt", previous);
  auto tensors = test::raw_tensors(w.config, 7);
  tensors.pop_back();
  w.set_weights(tensors);
  CHECK(w.convert_error().find("missing tensor") != std::string::npos);
  CHECK(test::read_file(w.options.output_path) == previous);
  CHECK(w.dir.list().size() == 3);  // config.json, model.safetensors, model.pfrt: no temporary left

  w.options.output_path = w.dir.file("no-such-folder/model.pfrt");
  w.set_weights(test::raw_tensors(w.config, 7));
  CHECK(w.convert_error().find("no-such-folder' does not exist") != std::string::npos);
}

TEST_CASE("convert: -o naming an input (same file, by a link or the same path) is refused, the input kept") {
  Workspace w;
  const std::vector<uint8_t> config = test::read_file(w.options.config_path);
  const std::vector<uint8_t> weights = test::read_file(w.options.weights_path);
  w.options.output_path = w.options.config_path;
  CHECK(w.convert_error().find("the output is the same file as the input " + w.options.config_path) !=
        std::string::npos);
  REQUIRE(::link(w.options.weights_path.c_str(), w.dir.file("weights-link").c_str()) == 0);
  w.options.output_path = w.dir.file("weights-link");
  CHECK(w.convert_error().find("does not overwrite its inputs") != std::string::npos);
  CHECK(test::read_file(w.options.config_path) == config);
  CHECK(test::read_file(w.options.weights_path) == weights);
}

TEST_CASE("non-finite weights are refused, naming the tensor and element (the runtime refuses them too)") {
  Workspace w;
  auto tensors = test::raw_tensors(w.config, 7);
  REQUIRE(tensors[3].name == "pos_embedding");
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(tensors[3].data.data() + 5 * sizeof(float), &inf, sizeof(float));
  w.set_weights(tensors);
  CHECK(w.convert_error().find("tensor 'pos_embedding' element 5 is infinite: weights must be finite") !=
        std::string::npos);
  CHECK(w.dir.list().size() == 2);  // nothing written beside the inputs
}
