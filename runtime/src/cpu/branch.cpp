// One branch over the whole batch: its blocks as batch x tokens GEMM rows (XNNPACK) and own
// kernels. With class-token pooling the last block computes only what row 0 needs: keys and
// values still come from every row, but attention, projection and MLP run for one query row
// per image.
#include "cpu/kernels/kernels.hpp"
#include "cpu/session_state.hpp"

namespace pfrt::cpu {

namespace {

using format::ModelConfig;

// One (image, head) attention item per pthreadpool task. Queries, keys and values are rows of
// heads x head_dim values (head-major), `row_stride` floats apart; the query rows of image i
// start at q + i * q_image_stride, its keys at k + i * tokens * row_stride, its values `inner`
// floats after its keys.
struct AttentionWork {
  const float* q;
  size_t q_image_stride;
  const float* k;
  size_t row_stride;
  size_t tokens, heads, head_dim, queries;
  float* out;  // queries rows of heads x head_dim per image
  float* scratch;
  size_t scratch_floats;
};

void attention_item(void* context, size_t item) {
  const auto& w = *static_cast<const AttentionWork*>(context);
  const size_t inner = w.heads * w.head_dim;
  const size_t image = item / w.heads, head = item % w.heads;
  const float* q = w.q + image * w.q_image_stride + head * w.head_dim;
  const float* k = w.k + image * w.tokens * w.row_stride + head * w.head_dim;
  kernels::attention_head(q, k, k + inner, w.row_stride, w.tokens, w.head_dim, w.queries,
                          w.out + image * w.queries * inner + head * w.head_dim, inner,
                          w.scratch + item * w.scratch_floats);
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
  // Attention of every (image, head) of the batch, spread over the slot's pool.
  void attend(AttentionWork work) {
    pthreadpool_parallelize_1d(pool_, attention_item, &work, n_ * c_.heads, s_.pool_flags);
  }

  // z = base + Attn(LN1(z)), base = LN1(z) (authors' form) or z (pre-norm).
  void attention_layer(const BlockOps& ops, const core::BlockWeights& w, const float* z) {
    const size_t t = c_.tokens(), inner = c_.inner_dim();
    kernels::layer_norm(z, d_, rows_, d_, w.attn_norm_weight, w.attn_norm_bias, c_.layernorm_eps, s_.normed, d_);
    ops.qkv.run(rows_, s_.normed, s_.qkv, pool_);
    attend({s_.qkv, t * 3 * inner, s_.qkv + inner, 3 * inner, t, c_.heads, c_.head_dim, t, s_.attended,
            s_.attention_scratch, s_.attention_scratch_floats});
    const float* update = s_.attended;
    if (ops.out) {
      ops.out.run(rows_, s_.attended, s_.update, pool_);
      update = s_.update;
    }
    kernels::add(prenorm_ ? z : s_.normed, update, s_.z, rows_ * d_);
  }

  // z = base + FFN(LN2(z)).
  void mlp_layer(const BlockOps& ops, const core::BlockWeights& w) {
    kernels::layer_norm(s_.z, d_, rows_, d_, w.mlp_norm_weight, w.mlp_norm_bias, c_.layernorm_eps, s_.normed, d_);
    ops.fc1.run(rows_, s_.normed, s_.hidden, pool_);
    kernels::gelu(s_.hidden, rows_ * c_.mlp_dim, c_.gelu);
    ops.fc2.run(rows_, s_.hidden, s_.update, pool_);
    kernels::add(prenorm_ ? s_.z : s_.normed, s_.update, s_.z, rows_ * d_);
  }

  // The attention layer for row 0 of each image only: c_z[i] = base[i, 0] + Attn(...)[i, 0].
  // Keys and values come from every row, the query from row 0 alone.
  void class_row_attention(const BlockOps& ops, const core::BlockWeights& w, const float* z) {
    const size_t t = c_.tokens(), inner = c_.inner_dim();
    kernels::layer_norm(z, d_, rows_, d_, w.attn_norm_weight, w.attn_norm_bias, c_.layernorm_eps, s_.normed, d_);
    ops.kv.run(rows_, s_.normed, s_.qkv, pool_);
    ops.q.run(n_, s_.normed, s_.c_q, pool_);
    attend({s_.c_q, inner, s_.qkv, 2 * inner, t, c_.heads, c_.head_dim, 1, s_.c_attended, s_.attention_scratch,
            s_.attention_scratch_floats});
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
