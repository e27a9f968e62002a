#include "support/test_models.hpp"

#include "precision.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace pfrt::test {

format::ModelConfig tiny_config() {
  format::ModelConfig c;
  c.image_size = 28;
  c.channels = 1;
  c.patch_size = 7;
  c.embed_dim = 16;
  c.heads = 2;
  c.head_dim = 8;
  c.mlp_dim = 32;
  c.branches = 2;
  c.blocks_per_branch = 1;
  c.classes = 10;
  c.mean = {0.5f};
  c.std = {0.25f};
  return c;
}

format::ModelConfig deit_tiny_config(uint32_t branches, uint32_t blocks_per_branch) {
  format::ModelConfig c = tiny_config();
  c.image_size = 224;
  c.channels = 3;
  c.patch_size = 16;
  c.embed_dim = 192;
  c.heads = 3;
  c.head_dim = 64;
  c.mlp_dim = 768;
  c.branches = branches;
  c.blocks_per_branch = blocks_per_branch;
  c.classes = 1000;
  c.mean = {0.5f, 0.5f, 0.5f};
  c.std = {0.2f, 0.2f, 0.2f};
  return c;
}

std::vector<float> random_floats(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<convert::WriterTensor> random_tensors(const format::ModelConfig& config, uint32_t seed) {
  std::vector<convert::WriterTensor> tensors;
  for (const format::TensorSpec& spec : format::expected_tensors(config)) {
    // Stored in the config's precision (f16, int8: as pfrt-convert stores them).
    tensors.push_back(convert::stored_tensor(spec, random_floats(size_t(format::element_count(spec.shape)), seed++),
                                             config.quantization.precision, "test model"));
  }
  return tensors;
}

std::vector<uint8_t> model_bytes(const format::ModelConfig& config, uint32_t seed) {
  return convert::serialize_model(config, random_tensors(config, seed), convert::WriterHeader{});
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/pfrt-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
  }
  return names;
}

TempDir::~TempDir() {
  for (const std::string& n : list()) ::unlink(file(n).c_str());
  ::rmdir(path_.c_str());
}

std::string TempDir::write(const std::string& name, const std::vector<uint8_t>& bytes) const {
  const std::string p = file(name);
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p);
  return p;
}

std::string TempDir::write_text(const std::string& name, const std::string& text) const {
  return write(name, std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace pfrt::test

#include <nlohmann/json.hpp>

namespace pfrt::test {

std::vector<uint8_t> safetensors_bytes(const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(n >> (8 * i)));
  for (char ch : text) out.push_back(uint8_t(ch));
  for (const RawTensor& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

std::vector<RawTensor> raw_tensors(const format::ModelConfig& config, uint32_t seed) {
  std::vector<RawTensor> raw;
  for (convert::WriterTensor& t : random_tensors(config, seed)) raw.push_back({t.name, "F32", t.shape, t.data});
  return raw;
}

std::string config_json_text(const format::ModelConfig& c, const std::string& name) {
  nlohmann::json j = {{"format", "pfrt-paraformer"},
                      {"format_version", 1},
                      {"name", name},
                      {"image_size", c.image_size},
                      {"channels", c.channels},
                      {"patch_size", c.patch_size},
                      {"dim", c.embed_dim},
                      {"heads", c.heads},
                      {"dim_head", c.head_dim},
                      {"mlp_dim", c.mlp_dim},
                      {"branches", c.branches},
                      {"blocks_per_branch", c.blocks_per_branch},
                      {"num_classes", c.classes},
                      {"pool", to_string(c.pooling)},
                      {"residual", to_string(c.residual)},
                      {"gelu", to_string(c.gelu)},
                      {"layernorm_eps", c.layernorm_eps},
                      {"mean", c.mean},
                      {"std", c.std},
                      {"training", to_string(c.training)}};
  j["merge_weights"] = c.merge_weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.merge_weights);
  j["labels"] = c.labels.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.labels);
  return j.dump(2);
}

}  // namespace pfrt::test
