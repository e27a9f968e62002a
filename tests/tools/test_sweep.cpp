// The sweep's models: their configs, and their operation counts against a hand count for
// DeiT-Tiny, read back through the public API from a model built in memory.
#include <doctest/doctest.h>

#include "pfrt/pfrt.hpp"
#include "reference_gemm.hpp"
#include "sweep.hpp"

using namespace pfrt::tools;

TEST_CASE("sweep: DeiT-Tiny operation counts match a hand count") {
  // Per image, 2 x multiply-adds: patch embedding 196 patches x 768 x 192; per block qkv
  // 197 x 192 x 576, QK^T and AV 2 x 3 heads x 197 x 197 x 64, output 197 x 192 x 192, MLP
  // 2 x 197 x 192 x 768; classifier 192 x 1000.
  const uint64_t stem = 2ull * 196 * 768 * 192;
  const uint64_t block = 2ull * 197 * 192 * 576 + 2ull * 2 * 3 * 197 * 197 * 64 + 2ull * 197 * 192 * 192 + 2ull * 2 * 197 * 192 * 768;
  const uint64_t head = 2ull * 192 * 1000;
  CHECK(stem == 57802752);
  CHECK(block == 204098304);

  const BlockShape deit;
  const auto bytes = sweep_model_bytes(sweep_config(deit, SweepKind::kParallel, 1), 1);
  const pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  const pfrt::ModelInfo info = model.info();
  CHECK(info.flops == stem + block + head);
  CHECK(info.flops == 262285056);
  CHECK(info.tokens == 197);

  const GemmShape g = largest_gemm(info, 1);
  CHECK(g.name == "mlp fc1");
  CHECK(g.m == 197);
  CHECK(g.k == 192);
  CHECK(g.n == 768);
  CHECK(largest_gemm(info, 4).m == 4 * 197);
}

TEST_CASE("sweep: parallel B and serial L models of one shape have equal operation counts") {
  BlockShape small;
  small.image_size = 20;
  small.channels = 3;
  small.patch_size = 5;
  small.embed_dim = 24;
  small.heads = 3;
  small.head_dim = 8;
  small.mlp_dim = 40;
  small.classes = 7;
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
    CHECK(pi.flops == si.flops);
    CHECK(pi.parameters == si.parameters);
    // tokens 17, D 24, inner 24, MLP 40: block = 2*17*24*72 + 4*17*17*24 + 2*17*24*24 + 4*17*24*40.
    const uint64_t block = 2ull * 17 * 24 * 72 + 4ull * 17 * 17 * 24 + 2ull * 17 * 24 * 24 + 4ull * 17 * 24 * 40;
    CHECK(pi.flops == 2ull * 16 * 75 * 24 + depth * block + 2ull * 24 * 7);
  }
  BlockShape bad = small;
  bad.patch_size = 7;  // does not divide 20
  CHECK_THROWS_AS(sweep_config(bad, SweepKind::kParallel, 1), std::invalid_argument);
  CHECK(std::string(to_string(SweepKind::kSerial)) == "serial");
}
