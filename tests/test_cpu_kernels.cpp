// The cpu backend's own kernels against reference/ops (double accumulation) on random inputs
// of odd sizes, in every instruction-set variant this machine runs (support/isa.hpp).
// Tolerances are absolute, on values of order 1: 2e-6 for LayerNorm and GELU (float
// arithmetic, erf approximated to 1.5e-7), 1e-5 for attention (sums over ~200 keys).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/kernels/kernels.hpp"
#include "cpu/stage_runner.hpp"
#include "reference/ops.hpp"
#include "support/isa.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace

TEST_CASE("cpu layer_norm matches the reference, strided rows included") {
  test::for_each_isa([&] {
    for (const size_t dim : {1, 7, 16, 37, 192, 203}) {
      CAPTURE(dim);
      const size_t rows = 5, stride = dim + 3;
      std::vector<float> x = test::random_floats(rows * stride, 11);
      for (float& v : x) v = v * 3.0f + 0.5f;  // a non-zero mean, as activations have
      const std::vector<float> gamma = test::random_floats(dim, 12), beta = test::random_floats(dim, 13);
      std::vector<float> packed(rows * dim), want(rows * dim), got(rows * dim);
      for (size_t r = 0; r < rows; ++r) std::copy_n(&x[r * stride], dim, &packed[r * dim]);
      reference::layer_norm(packed.data(), rows, dim, gamma.data(), beta.data(), 1e-5f, want.data());
      cpu::kernels::layer_norm(x.data(), stride, rows, dim, gamma.data(), beta.data(), 1e-5f, got.data(), dim);
      CHECK(max_abs_diff(got, want) <= 2e-6);
    }
  });
}

TEST_CASE("cpu gelu matches the reference in both forms") {
  test::for_each_isa([&] {
    std::vector<float> x = test::random_floats(1001, 21);
    for (float& v : x) v *= 8.0f;  // [-8, 8): both tails and the curved middle
    x.push_back(0.0f);
    x.push_back(-30.0f);
    x.push_back(30.0f);
    for (const format::Gelu form : {format::Gelu::kErf, format::Gelu::kTanh}) {
      CAPTURE(format::to_string(form));
      std::vector<float> want = x, got = x;
      reference::gelu(want.data(), want.size(), form);
      cpu::kernels::gelu(got.data(), got.size(), form);
      double worst = 0.0;
      for (size_t i = 0; i < x.size(); ++i) {
        worst = std::max(worst, std::fabs(double(got[i]) - double(want[i])) / std::max(1.0, std::fabs(double(x[i]))));
      }
      CHECK(worst <= 2e-6);
    }
  });
}

namespace {

// The first `queries` rows of one head's attention, its keys prepared once.
void attend_head(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                 size_t queries, float* out, size_t out_stride) {
  std::vector<float> keys(cpu::kernels::attention_keys_floats(tokens, head_dim));
  std::vector<float> scores(cpu::kernels::attention_scores_floats(tokens, head_dim));
  cpu::kernels::attention_keys(k, stride, tokens, head_dim, 0, head_dim, keys.data());
  cpu::kernels::attention_queries(q, keys.data(), v, stride, tokens, head_dim, queries, out, out_stride, scores.data());
}

}  // namespace

TEST_CASE("cpu attention matches the reference for every query row and for row 0 alone") {
  test::for_each_isa([&] {
    struct Shape {
      size_t tokens, heads, head_dim;
    };
    for (const Shape s :
         {Shape{1, 1, 5}, Shape{5, 2, 7}, Shape{10, 3, 33}, Shape{37, 1, 64}, Shape{197, 3, 64}, Shape{50, 2, 70}}) {
      CAPTURE(s.tokens);
      CAPTURE(s.heads);
      CAPTURE(s.head_dim);
      const size_t inner = s.heads * s.head_dim;
      std::vector<float> qkv = test::random_floats(s.tokens * 3 * inner + 16, 31);
      for (float& v : qkv) v *= 2.0f;  // sharper softmax than uniform noise
      std::vector<float> want(s.tokens * inner), got(s.tokens * inner, -1.0f), row0(inner, -1.0f);
      reference::attention(qkv.data(), s.tokens, s.heads, s.head_dim, want.data());
      for (size_t h = 0; h < s.heads; ++h) {
        const float* q = qkv.data() + h * s.head_dim;
        attend_head(q, q + inner, q + 2 * inner, 3 * inner, s.tokens, s.head_dim, s.tokens, got.data() + h * s.head_dim,
                    inner);
        attend_head(q, q + inner, q + 2 * inner, 3 * inner, s.tokens, s.head_dim, 1, row0.data() + h * s.head_dim,
                    inner);
      }
      CHECK(max_abs_diff(got, want) <= 1e-5);
      CHECK(max_abs_diff(row0, std::vector<float>(want.begin(), want.begin() + long(inner))) <= 1e-5);
    }
  });
}

TEST_CASE("cpu attention split into blocks of query rows over shared keys equals the whole head at once") {
  test::for_each_isa([&] {
    const size_t tokens = 45, heads = 2, head_dim = 24, inner = heads * head_dim;
    std::vector<float> qkv = test::random_floats(tokens * 3 * inner + 16, 37);
    std::vector<float> whole(tokens * inner), split(tokens * inner, -1.0f);
    std::vector<float> keys(cpu::kernels::attention_keys_floats(tokens, head_dim));
    std::vector<float> scores(cpu::kernels::attention_scores_floats(tokens, head_dim));
    for (size_t h = 0; h < heads; ++h) {
      const float* q = qkv.data() + h * head_dim;
      attend_head(q, q + inner, q + 2 * inner, 3 * inner, tokens, head_dim, tokens, whole.data() + h * head_dim, inner);
      // The keys prepared in uneven pieces of their head_dim rows (the last past head_dim), as threads
      // write them.
      std::fill(keys.begin(), keys.end(), -1.0f);
      for (size_t e = 0, step = 5; e < head_dim; e += step, step = step * 2 % 13 + 1) {
        cpu::kernels::attention_keys(q + inner, 3 * inner, tokens, head_dim, e, e + step, keys.data());
      }
      // Blocks of 8, 3, 17, ... rows, the last one short: each reads only its own query rows.
      size_t first = 0;
      for (size_t step : {8, 3, 17, 1, 100}) {
        const size_t rows = std::min(step, tokens - first);
        cpu::kernels::attention_queries(q + first * 3 * inner, keys.data(), q + 2 * inner, 3 * inner, tokens, head_dim,
                                        rows, split.data() + first * inner + h * head_dim, inner, scores.data());
        first += rows;
      }
      REQUIRE(first == tokens);
    }
    CHECK(max_abs_diff(split, whole) == 0.0);
  });
}

TEST_CASE("cpu attention of one query row, keys read as they are, matches the reference") {
  test::for_each_isa([&] {
    for (const size_t tokens : {1, 5, 17, 197}) {
      for (const size_t head_dim : {5, 16, 33, 64}) {
        CAPTURE(tokens);
        CAPTURE(head_dim);
        const size_t heads = 3, inner = heads * head_dim;
        std::vector<float> qkv = test::random_floats(tokens * 3 * inner + 16, 39);
        for (float& v : qkv) v *= 2.0f;
        std::vector<float> want(tokens * inner), got(inner, -1.0f);
        std::vector<float> scores(tokens + cpu::kernels::attention_row_part_floats(head_dim));
        reference::attention(qkv.data(), tokens, heads, head_dim, want.data());
        for (size_t h = 0; h < heads; ++h) {
          const float* q = qkv.data() + h * head_dim;  // row 0's query
          cpu::kernels::attention_row(q, q + inner, q + 2 * inner, 3 * inner, tokens, head_dim,
                                      got.data() + h * head_dim, scores.data());
        }
        CHECK(max_abs_diff(got, std::vector<float>(want.begin(), want.begin() + long(inner))) <= 1e-5);
      }
    }
  });
}

TEST_CASE("cpu attention of one query row in parts of its keys, combined, equals one pass") {
  test::for_each_isa([&] {
    const size_t tokens = 197, heads = 2, head_dim = 24, inner = heads * head_dim;
    std::vector<float> qkv = test::random_floats(tokens * 3 * inner + 16, 41);
    for (float& v : qkv) v *= 3.0f;  // parts whose largest scores differ widely
    std::vector<float> want(tokens * inner);
    reference::attention(qkv.data(), tokens, heads, head_dim, want.data());
    const size_t part_floats = cpu::kernels::attention_row_part_floats(head_dim);
    for (const std::vector<size_t>& sizes :
         {std::vector<size_t>{197}, {64, 64, 64, 5}, {1, 196}, {100, 1, 96}, std::vector<size_t>(197, 1)}) {
      CAPTURE(sizes.size());
      std::vector<float> whole(inner, -1.0f), split(inner, -1.0f), scores(tokens + part_floats);
      std::vector<float> parts(sizes.size() * part_floats);
      for (size_t h = 0; h < heads; ++h) {
        const float* q = qkv.data() + h * head_dim;
        cpu::kernels::attention_row(q, q + inner, q + 2 * inner, 3 * inner, tokens, head_dim,
                                    whole.data() + h * head_dim, scores.data());
        size_t first = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          const float* k = q + inner + first * 3 * inner;
          cpu::kernels::attention_row_part(q, k, k + inner, 3 * inner, sizes[i], head_dim,
                                           parts.data() + i * part_floats, scores.data());
          first += sizes[i];
        }
        REQUIRE(first == tokens);
        cpu::kernels::attention_row_combine(parts.data(), sizes.size(), part_floats, head_dim,
                                            split.data() + h * head_dim);
      }
      if (sizes.size() == 1) CHECK(max_abs_diff(split, whole) == 0.0);  // one part: one pass's arithmetic
      CHECK(max_abs_diff(split, whole) <= 1e-6);
      CHECK(max_abs_diff(split, std::vector<float>(want.begin(), want.begin() + long(inner))) <= 1e-5);
    }
  });
}

TEST_CASE("cpu attention work items balance the pool within the scratch the session plans") {
  const cpu::AttentionSplit one = cpu::attention_split(1, 3, 197, 64);  // no pool: one item per (image, head)
  CHECK(one.key_pieces == 1);
  CHECK(one.blocks == 1);
  CHECK(one.rows_per_block == 197);
  const cpu::AttentionSplit two = cpu::attention_split(2, 3, 197, 64);  // DeiT-Tiny, one image, 2 threads
  CHECK(two.key_pieces == 3);                                           // 9 key items
  CHECK(two.rows_per_block == 32);                                      // 21 query items of whole register blocks
  CHECK(two.blocks == 7);
  CHECK(cpu::attention_split(4, 3, 1, 64).blocks == 1);     // the class row alone
  CHECK(cpu::attention_split(4, 64, 197, 64).blocks == 1);  // a large batch has items enough
  CHECK(cpu::attention_split(4, 64, 197, 64).key_pieces == 1);
  CHECK(cpu::attention_split(16, 1, 20, 64).rows_per_block == 8);  // never blocks under 8 rows
  CHECK(cpu::attention_split(16, 1, 20, 12).key_pieces == 1);      // nor key pieces under 8 rows
  for (size_t threads : {1, 2, 3, 8}) {
    for (size_t pairs : {1, 2, 3, 5, 12, 96}) {
      for (size_t queries : {1, 7, 17, 197, 577}) {
        for (size_t head_dim : {5, 64}) {
          const cpu::AttentionSplit s = cpu::attention_split(threads, pairs, queries, head_dim);
          CAPTURE(threads);
          CAPTURE(pairs);
          CAPTURE(queries);
          CHECK(s.blocks >= 1);
          CHECK(s.key_pieces >= 1);
          CHECK((s.key_pieces == 1 || head_dim / s.key_pieces >= 8));
          CHECK(s.blocks * s.rows_per_block >= queries);       // every row is answered
          CHECK((s.blocks - 1) * s.rows_per_block < queries);  // by a block that has rows
          CHECK(pairs * s.blocks <= cpu::attention_items(threads, pairs));
          CHECK(
              (s.blocks == 1 || (s.rows_per_block >= 8 && s.rows_per_block % cpu::kernels::kAttentionBlockRows == 0)));
        }
      }
    }
  }
}

TEST_CASE("cpu patch gather equals the reference's for any row range") {
  test::for_each_isa([&] {
    for (const size_t channels : {1, 3}) {
      const size_t size = 15, patch = 5, grid = 3, n = grid * grid, batch = 2;
      const size_t pd = patch * patch * channels;
      const std::vector<float> images = test::random_floats(batch * channels * size * size, 41);
      std::vector<float> want(batch * n * pd);
      for (size_t i = 0; i < batch; ++i) {
        reference::gather_patches(images.data() + i * channels * size * size, channels, size, patch, &want[i * n * pd]);
      }
      std::vector<float> got(batch * n * pd, -9.0f);
      cpu::kernels::gather_patches(images.data(), channels, size, patch, 0, 7, got.data());
      cpu::kernels::gather_patches(images.data(), channels, size, patch, 7, batch * n - 7, got.data() + 7 * pd);
      CHECK(got == want);
    }
  });
}

TEST_CASE("cpu element-wise kernels: add, accumulate, mean of rows") {
  test::for_each_isa([&] {
    const size_t rows = 7, dim = 19;
    const std::vector<float> a = test::random_floats(rows * dim, 51), b = test::random_floats(rows * dim, 52);
    std::vector<float> sum(rows * dim), acc = b, mean(dim);
    cpu::kernels::add(a.data(), b.data(), sum.data(), sum.size());
    cpu::kernels::accumulate(a.data(), 0.25f, acc.data(), acc.size());
    cpu::kernels::mean_rows(a.data(), rows, dim, mean.data());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(sum[i] == a[i] + b[i]);
      CHECK(acc[i] == doctest::Approx(b[i] + 0.25f * a[i]).epsilon(1e-6));
    }
    for (size_t e = 0; e < dim; ++e) {
      double m = 0.0;
      for (size_t r = 0; r < rows; ++r) m += a[r * dim + e];
      CHECK(std::fabs(mean[e] - m / rows) <= 1e-6);
    }
  });
}
