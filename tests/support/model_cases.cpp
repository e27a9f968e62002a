#include "support/model_cases.hpp"

#include <algorithm>
#include <cmath>

#include "support/test_models.hpp"

namespace pfrt::test {

std::vector<ShapeCase> shape_cases() {
  std::vector<ShapeCase> out;
  out.push_back({"tiny: cls, authors' residual, erf", tiny_config()});

  format::ModelConfig odd = tiny_config();  // 3x3 patches of 5x5x3, T = 10
  odd.image_size = 15;
  odd.patch_size = 5;
  odd.channels = 3;
  odd.mean = {0.1f, 0.2f, 0.3f};
  odd.std = {0.5f, 0.6f, 0.7f};
  odd.embed_dim = 20;
  odd.heads = 3;
  odd.head_dim = 7;
  odd.mlp_dim = 37;
  odd.branches = 3;
  odd.blocks_per_branch = 2;
  odd.classes = 7;
  odd.pooling = format::Pooling::kMean;
  odd.residual = format::Residual::kPreNorm;
  odd.gelu = format::Gelu::kTanh;
  odd.merge_weights = {0.5f, -1.25f, 2.0f};
  out.push_back({"odd: mean, prenorm, tanh, merge weights, 2 blocks", odd});

  format::ModelConfig single = tiny_config();  // one head spanning D: no output projection
  single.embed_dim = 12;
  single.heads = 1;
  single.head_dim = 12;
  single.branches = 4;
  single.mlp_dim = 24;
  out.push_back({"one head: no output projection, 4 branches", single});

  format::ModelConfig deep = tiny_config();  // 9x9 grid: T = 82, heads wider than a tile
  deep.image_size = 36;
  deep.patch_size = 4;
  deep.embed_dim = 48;
  deep.heads = 2;
  deep.head_dim = 33;
  deep.mlp_dim = 64;
  deep.branches = 5;
  deep.blocks_per_branch = 3;
  deep.residual = format::Residual::kPreNorm;
  out.push_back({"deep: cls, prenorm, 3 blocks, 5 branches, T=82", deep});

  format::ModelConfig mean_no_proj = single;
  mean_no_proj.pooling = format::Pooling::kMean;
  mean_no_proj.gelu = format::Gelu::kTanh;
  mean_no_proj.blocks_per_branch = 2;
  mean_no_proj.merge_weights = {1.0f, 0.5f, 0.25f, 0.125f};
  out.push_back({"mean, no projection, 2 blocks, merge weights", mean_no_proj});
  return out;
}

std::shared_ptr<const core::Model> make_model(const format::ModelConfig& config, uint32_t seed) {
  const std::vector<uint8_t> bytes = model_bytes(config, seed);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

std::vector<float> run_logits(core::Session& session, const std::vector<float>& input, uint32_t branches) {
  const format::ModelConfig& c = session.model().config();
  std::vector<float> logits(input.size() / c.image_floats() * c.classes);
  core::RunOptions options;
  options.branches = branches;
  session.run(input.data(), input.size(), logits.data(), logits.size(), options);
  return logits;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return got.size() == want.size() ? diff / scale : INFINITY;
}

}  // namespace pfrt::test
