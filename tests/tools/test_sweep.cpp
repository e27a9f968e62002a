// The sweep's models: their configs, and their operation counts against a hand count for
// DeiT-Tiny, read back through the public API from a model built in memory.
#include <doctest/doctest.h>

#include "pfrt/pfrt.hpp"
#include "reference_gemm.hpp"
#include "sweep.hpp"

using namespace pfrt::tools;

TEST_CASE("sweep: DeiT-Tiny operation counts match a hand count") {
  // Per image, 2 x multiply-adds: patch embedding 196 patches x 768 x 192; a full block: qkv
  // 197 x 192 x 576, QK^T and AV 2 x 3 heads x 197 x 197 x 64, output 197 x 192 x 192, MLP
  // 2 x 197 x 192 x 768; classifier 192 x 1000. With class-token pooling the last block needs
  // k, v for all 197 rows (197 x 192 x 384) but q, attention, output and MLP for row 0 only.
  const uint64_t stem = 2ull * 196 * 768 * 192;
  const uint64_t block =
      2ull * 197 * 192 * 576 + 2ull * 2 * 3 * 197 * 197 * 64 + 2ull * 197 * 192 * 192 + 2ull * 2 * 197 * 192 * 768;
  const uint64_t last =
      2ull * 197 * 192 * 384 + 2ull * 192 * 192 + 2ull * 2 * 3 * 197 * 64 + 2ull * 192 * 192 + 2ull * 2 * 192 * 768;
  const uint64_t head = 2ull * 192 * 1000;
  CHECK(stem == 57802752);
  CHECK(block == 204098304);
  CHECK(last == 29937408);

  const BlockShape deit;
  const auto bytes = sweep_model_bytes(sweep_config(deit, SweepKind::kParallel, 1), 1);
  const pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  const pfrt::ModelInfo info = model.info();
  CHECK(info.flops == stem + last + head);
  CHECK(info.flops == 88124160);
  CHECK(info.tokens == 197);

  // Mean pooling reads every row of the last block: no saving.
  auto mean_config = sweep_config(deit, SweepKind::kSerial, 2);
  mean_config.pooling = pfrt::format::Pooling::kMean;
  const auto mean_bytes = sweep_model_bytes(mean_config, 1);
  CHECK(pfrt::Model::from_buffer(mean_bytes.data(), mean_bytes.size()).info().flops == stem + 2 * block + head);

  const GemmShape g = largest_gemm(info, 1);
  CHECK(g.name == "mlp fc1");
  CHECK(g.m == 197);
  CHECK(g.k == 192);
  CHECK(g.n == 768);
  CHECK(largest_gemm(info, 4).m == 4 * 197);
}

TEST_CASE("sweep: parallel B and serial L models of one shape: same parameters, class-row saving per branch") {
  BlockShape small;
  small.image_size = 20;
  small.channels = 3;
  small.patch_size = 5;
  small.embed_dim = 24;
  small.heads = 3;
  small.head_dim = 8;
  small.mlp_dim = 40;
  small.classes = 7;
  // tokens 17, D 24, inner 24, MLP 40: a full block = 2*17*24*72 + 4*17*17*24 + 2*17*24*24 + 4*17*24*40;
  // a class-row last block = 2*17*24*48 + 2*24*24 + 4*17*24 + 2*24*24 + 4*24*40.
  const uint64_t block = 2ull * 17 * 24 * 72 + 4ull * 17 * 17 * 24 + 2ull * 17 * 24 * 24 + 4ull * 17 * 24 * 40;
  const uint64_t last = 2ull * 17 * 24 * 48 + 2ull * 24 * 24 + 4ull * 17 * 24 + 2ull * 24 * 24 + 4ull * 24 * 40;
  const uint64_t stem_head = 2ull * 16 * 75 * 24 + 2ull * 24 * 7;
  for (uint32_t depth : {1u, 3u}) {
    const auto p = sweep_config(small, SweepKind::kParallel, depth);
    const auto s = sweep_config(small, SweepKind::kSerial, depth);
    CHECK(p.branches == depth);
    CHECK(p.blocks_per_branch == 1);
    CHECK(s.branches == 1);
    CHECK(s.blocks_per_branch == depth);
    const auto pb = sweep_model_bytes(p, 2), sb = sweep_model_bytes(s, 2);
    const pfrt::ModelInfo pi = pfrt::Model::from_buffer(pb.data(), pb.size()).info();
    const pfrt::ModelInfo si = pfrt::Model::from_buffer(sb.data(), sb.size()).info();
    CHECK(pi.parameters == si.parameters);
    // Every parallel branch ends in a class-row block; the serial chain has one.
    CHECK(pi.flops == stem_head + depth * last);
    CHECK(si.flops == stem_head + (depth - 1) * block + last);
    CHECK(pi.flops_per_branch == last);
  }
  BlockShape bad = small;
  bad.patch_size = 7;  // does not divide 20
  CHECK_THROWS_AS(sweep_config(bad, SweepKind::kParallel, 1), std::invalid_argument);
  CHECK(std::string(to_string(SweepKind::kSerial)) == "serial");
}
