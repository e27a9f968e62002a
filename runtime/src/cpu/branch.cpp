// One branch over the whole batch: its blocks as batch x tokens GEMM rows (XNNPACK) and own
// kernels. With class-token pooling the last block computes only what row 0 needs: keys and
// values still come from every row, but attention, projection and MLP run for one query row
// per image.
#include <algorithm>

#include "cpu/kernels/kernels.hpp"
#include "cpu/session_state.hpp"

namespace pfrt::cpu {

namespace {

using format::ModelConfig;

// Attention over a batch in two pthreadpool passes: the keys of every (image, head) are
// prepared once, then blocks of query rows of every (image, head) are answered, so that even
// one image of three heads keeps every pool thread busy. Queries, keys and values are rows
// of heads x head_dim values (head-major), `row_stride` floats apart; the query rows of image
// i start at q + i * q_image_stride, its keys at k + i * tokens * row_stride, its values
// `inner` floats after its keys.
struct AttentionWork {
  const float* q;
  size_t q_image_stride;
  const float* k;
  size_t row_stride;
  size_t tokens, heads, head_dim, queries;
  size_t query_blocks, rows_per_block;  // queries split into blocks of rows_per_block rows
  float* out;                           // queries rows of heads x head_dim per image
  float* keys;                          // keys_floats per (image, head)
  size_t keys_floats;
  float* scores;                        // scores_floats per (image, head, query block)
  size_t scores_floats;
};

void attention_keys_item(void* context, size_t item) {
  const auto& w = *static_cast<const AttentionWork*>(context);
  const size_t image = item / w.heads, head = item % w.heads;
  kernels::attention_keys(w.k + image * w.tokens * w.row_stride + head * w.head_dim, w.row_stride, w.tokens,
                          w.head_dim, w.keys + item * w.keys_floats);
}

void attention_queries_item(void* context, size_t item) {
  const auto& w = *static_cast<const AttentionWork*>(context);
  const size_t inner = w.heads * w.head_dim;
  const size_t pair = item / w.query_blocks, block = item % w.query_blocks;
  const size_t image = pair / w.heads, head = pair % w.heads;
  const size_t first = block * w.rows_per_block;
  if (first >= w.queries) return;
  const size_t rows = std::min(w.rows_per_block, w.queries - first);
  const float* v = w.k + image * w.tokens * w.row_stride + inner + head * w.head_dim;
  kernels::attention_queries(w.q + image * w.q_image_stride + first * w.row_stride + head * w.head_dim,
                             w.keys + pair * w.keys_floats, v, w.row_stride, w.tokens, w.head_dim, rows,
                             w.out + (image * w.queries + first) * inner + head * w.head_dim, inner,
                             w.scores + item * w.scores_floats);
}

}  // namespace

size_t query_blocks(size_t threads, size_t pairs, size_t queries) {
  if (threads <= 1 || pairs == 0) return 1;
  const size_t wanted = (8 * threads + pairs - 1) / pairs, most = std::max<size_t>(1, queries / 8);
  return std::max<size_t>(1, std::min(wanted, most));
}

namespace {

// Runs fn(first, count) over the rows [0, rows) in one tile per pool thread.
template <typename Fn>
void for_row_tiles(pthreadpool* pool, uint32_t flags, size_t rows, const Fn& fn) {
  const size_t threads = pool == nullptr ? 1 : pthreadpool_get_threads_count(pool);
  if (threads <= 1) return fn(size_t{0}, rows);
  struct Context {
    const Fn* fn;
  } context{&fn};
  const auto task = [](void* c, size_t first, size_t count) { (*static_cast<Context*>(c)->fn)(first, count); };
  pthreadpool_parallelize_1d_tile_1d(pool, task, &context, rows, (rows + threads - 1) / threads, flags);
}

class BranchRunner {
 public:
  BranchRunner(const BranchJob& job, Slot& slot)
      : job_(job), s_(slot), c_(job.model->config()), pool_(slot.pool.get()), n_(job.batch),
        rows_(job.batch * job.model->config().tokens()), d_(c_.embed_dim),
        prenorm_(c_.residual == format::Residual::kPreNorm) {}

  core::StopReason run(const core::RunControl& control) {
    const float* z = job_.x0;
    const size_t blocks = job_.ops->size();
    for (size_t j = 0; j < blocks; ++j) {
      const BlockOps& ops = (*job_.ops)[j];
      const core::BlockWeights& w = (*job_.weights)[j];
      const bool last = j + 1 == blocks;
      if (core::StopReason why = control.check(); why != core::StopReason::kNone) return why;
      if (last && c_.pooling == format::Pooling::kCls) {
        class_row_attention(ops, w, z);
        if (core::StopReason why = control.check(); why != core::StopReason::kNone) return why;
        class_row_mlp(ops, w);
        return core::StopReason::kNone;
      }
      attention_layer(ops, w, z);
      z = s_.z;
      if (core::StopReason why = control.check(); why != core::StopReason::kNone) return why;
      mlp_layer(ops, w);
    }
    for (size_t i = 0; i < n_; ++i) {
      kernels::mean_rows(s_.z + i * c_.tokens() * d_, c_.tokens(), d_, job_.pooled + i * d_);
    }
    return core::StopReason::kNone;
  }

 private:
  // Attention of every (image, head) of the batch for `queries` rows per image, spread over
  // the slot's pool.
  void attend(const float* q, size_t q_image_stride, const float* k, size_t row_stride, size_t queries, float* out) {
    const size_t blocks = query_blocks(s_.threads, n_ * c_.heads, queries);
    AttentionWork work{q, q_image_stride, k, row_stride, c_.tokens(), c_.heads, c_.head_dim, queries, blocks,
                       (queries + blocks - 1) / blocks, out, s_.attention_keys, s_.attention_keys_floats,
                       s_.attention_scores, s_.attention_scores_floats};
    pthreadpool_parallelize_1d(pool_, attention_keys_item, &work, n_ * c_.heads, s_.pool_flags);
    pthreadpool_parallelize_1d(pool_, attention_queries_item, &work, n_ * c_.heads * blocks, s_.pool_flags);
  }

  // y = LN(x) over `rows` rows, split over the slot's pool.
  void layer_norm(const float* x, size_t rows, const float* gamma, const float* beta, float* y) {
    for_row_tiles(pool_, s_.pool_flags, rows, [&](size_t first, size_t count) {
      kernels::layer_norm(x + first * d_, d_, count, d_, gamma, beta, c_.layernorm_eps, y + first * d_, d_);
    });
  }

  // z = base + Attn(LN1(z)), base = LN1(z) (authors' form) or z (pre-norm).
  void attention_layer(const BlockOps& ops, const core::BlockWeights& w, const float* z) {
    const size_t t = c_.tokens(), inner = c_.inner_dim();
    layer_norm(z, rows_, w.attn_norm_weight, w.attn_norm_bias, s_.normed);
    ops.qkv.run(rows_, s_.normed, s_.qkv, pool_);
    attend(s_.qkv, t * 3 * inner, s_.qkv + inner, 3 * inner, t, s_.attended);
    const float* update = s_.attended;
    if (ops.out) {
      ops.out.run(rows_, s_.attended, s_.update, pool_);
      update = s_.update;
    }
    kernels::add(prenorm_ ? z : s_.normed, update, s_.z, rows_ * d_);
  }

  // z = base + FFN(LN2(z)).
  void mlp_layer(const BlockOps& ops, const core::BlockWeights& w) {
    layer_norm(s_.z, rows_, w.mlp_norm_weight, w.mlp_norm_bias, s_.normed);
    ops.fc1.run(rows_, s_.normed, s_.hidden, pool_);
    const size_t m = c_.mlp_dim;
    for_row_tiles(pool_, s_.pool_flags, rows_,
                  [&](size_t first, size_t count) { kernels::gelu(s_.hidden + first * m, count * m, c_.gelu); });
    ops.fc2.run(rows_, s_.hidden, s_.update, pool_);
    kernels::add(prenorm_ ? s_.z : s_.normed, s_.update, s_.z, rows_ * d_);
  }

  // The attention layer for row 0 of each image only: c_z[i] = base[i, 0] + Attn(...)[i, 0].
  // Keys and values come from every row, the query from row 0 alone.
  void class_row_attention(const BlockOps& ops, const core::BlockWeights& w, const float* z) {
    const size_t inner = c_.inner_dim();
    layer_norm(z, rows_, w.attn_norm_weight, w.attn_norm_bias, s_.normed);
    ops.kv.run(rows_, s_.normed, s_.qkv, pool_);
    ops.q.run(n_, s_.normed, s_.c_q, pool_);
    attend(s_.c_q, inner, s_.qkv, 2 * inner, 1, s_.c_attended);
    const float* update = s_.c_attended;
    if (ops.out) {
      ops.out.run(n_, s_.c_attended, s_.c_update, pool_);
      update = s_.c_update;
    }
    const float* base = prenorm_ ? z : s_.normed;
    const size_t image = size_t{c_.tokens()} * d_;
    for (size_t i = 0; i < n_; ++i) kernels::add(base + i * image, update + i * d_, s_.c_z + i * d_, d_);
  }

  // The MLP layer for the class rows; the result is the branch's pooled output.
  void class_row_mlp(const BlockOps& ops, const core::BlockWeights& w) {
    kernels::layer_norm(s_.c_z, d_, n_, d_, w.mlp_norm_weight, w.mlp_norm_bias, c_.layernorm_eps, s_.c_normed, d_);
    ops.fc1.run(n_, s_.c_normed, s_.c_hidden, pool_);
    kernels::gelu(s_.c_hidden, n_ * c_.mlp_dim, c_.gelu);
    ops.fc2.run(n_, s_.c_hidden, s_.c_update, pool_);
    kernels::add(prenorm_ ? s_.c_z : s_.c_normed, s_.c_update, job_.pooled, n_ * d_);
  }

  const BranchJob& job_;
  Slot& s_;
  const ModelConfig& c_;
  pthreadpool* pool_;
  size_t n_, rows_, d_;
  bool prenorm_;
};

}  // namespace

core::StopReason run_branch(const BranchJob& job, Slot& slot, const core::RunControl& control) {
  return BranchRunner(job, slot).run(control);
}

}  // namespace pfrt::cpu
