// The model specification: config validation, the tensor list a config implies, op counts.
#include <doctest/doctest.h>

#include <set>

#include "format/model_spec.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using format::ModelConfig;

namespace {

std::string problem_with(void (*edit)(ModelConfig&)) {
  ModelConfig c = test::tiny_config();
  edit(c);
  return format::validate(c);
}

}  // namespace

TEST_CASE("a valid config passes validation") { CHECK(format::validate(test::tiny_config()).empty()); }

TEST_CASE("each invalid config field is named in the error") {
  CHECK(problem_with([](ModelConfig& c) { c.image_size = 0; }).find("'image_size' is 0") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.branches = 0; }).find("'branches' is 0") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.branches = 5000; }).find("'branches' is 5000: must be at most 1024") !=
        std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.heads = 0; }).find("'heads'") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.patch_size = 5; }).find("not a multiple of 'patch_size'") !=
        std::string::npos);
  CHECK(problem_with([](ModelConfig& c) {
          c.image_size = 4096;
          c.patch_size = 1;
        }).find("patches; at most") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.mean = {0.5f, 0.5f}; }).find("'mean' has 2 value(s)") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.std = {0.0f}; }).find("'std'[0] is 0") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.layernorm_eps = -1.0f; }).find("'layernorm_eps'") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) { c.merge_weights = {1.0f}; }).find("'merge_weights' has 1 value(s) for 2") !=
        std::string::npos);
  CHECK(problem_with([](ModelConfig& c) {
          c.labels = {"a", "b"};
        }).find("'labels' has 2 entries for 10 classes") != std::string::npos);
  CHECK(problem_with([](ModelConfig& c) {
          c.heads = 1024;
          c.head_dim = 1024;
        }).find("heads x head_dim") != std::string::npos);
}

TEST_CASE("expected tensors follow the authors' key layout") {
  ModelConfig c = test::tiny_config();
  c.branches = 3;
  c.blocks_per_branch = 2;
  const auto specs = format::expected_tensors(c);
  CHECK(specs.size() == 8 + 3 * 2 * 11);
  std::set<std::string> names;
  for (const auto& s : specs) names.insert(s.name);
  CHECK(names.size() == specs.size());
  CHECK(names.count("paraformerbranches.branches.2.3.fn.net.3.weight"));   // branch 2, block 1, MLP layer
  CHECK(names.count("paraformerbranches.branches.0.2.fn.to_qkv.weight"));  // branch 0, block 1, attention
  CHECK(names.count("mlp_head.1.bias"));
  for (const auto& s : specs) {
    if (s.name == "paraformerbranches.branches.1.0.fn.to_qkv.weight") CHECK(s.shape == std::vector<int64_t>{48, 16});
    if (s.name == "pos_embedding") CHECK(s.shape == std::vector<int64_t>{1, 17, 16});
    if (s.name == "to_patch_embedding.1.weight") CHECK(s.shape == std::vector<int64_t>{16, 49});
  }
}

TEST_CASE("one head spanning the width has no output projection") {
  ModelConfig c = test::tiny_config();
  c.heads = 1;
  c.head_dim = c.embed_dim;
  CHECK_FALSE(c.project_out());
  for (const auto& s : format::expected_tensors(c)) CHECK(s.name.find("to_out") == std::string::npos);
  CHECK(format::expected_tensors(c).size() == 8 + 2 * 9);
}

TEST_CASE("operation count of a DeiT-Tiny block matches a hand count") {
  ModelConfig c = test::deit_tiny_config(4, 1);
  // Mean pooling, T = 197: qkv 2*197*192*576 = 43,573,248; attention 2*2*197*197*192 =
  // 29,805,312; projection 2*197*192*192 = 14,524,416; MLP 2*2*197*192*768 = 116,195,328.
  c.pooling = format::Pooling::kMean;
  const auto ops = format::operation_count(c);
  CHECK(ops.per_branch == 43573248ull + 29805312ull + 14524416ull + 116195328ull);
  CHECK(ops.stem == 2ull * 196 * 768 * 192);
  CHECK(ops.head == 2ull * 192 * 1000);
  CHECK(ops.total(4) == ops.stem + 4 * ops.per_branch + ops.head);

  // Class-token pooling, one block: k, v of all rows 2*197*192*384 = 29,048,832; the class
  // row's q 2*192*192 = 73,728, attention 2*2*197*192 = 151,296, projection 73,728 and MLP
  // 2*2*192*768 = 589,824.
  c.pooling = format::Pooling::kCls;
  CHECK(format::operation_count(c).per_branch == 29048832ull + 73728ull + 151296ull + 73728ull + 589824ull);
  // Two blocks: the first is whole.
  c.blocks_per_branch = 2;
  CHECK(format::operation_count(c).per_branch == 204098304ull + 29937408ull);
}

TEST_CASE("element_count saturates instead of overflowing") {
  CHECK(format::element_count({2, 3, 4}) == 24);
  CHECK(format::element_count({}) == 1);
  CHECK(format::element_count({-1, 4}) == 0);
  CHECK(format::element_count({int64_t(1) << 40, int64_t(1) << 40}) == UINT64_MAX);
}
