#include "reference/reference_backend.hpp"

#include <algorithm>
#include <vector>

#include "reference/ops.hpp"

namespace pfrt::core {

namespace {

namespace ops = pfrt::reference;
using format::ModelConfig;

// Runs branch by branch over the whole batch, so that when a run stops early every image has
// the same finished prefix of branches.
class ReferenceSession final : public BackendSession {
 public:
  explicit ReferenceSession(std::shared_ptr<const Model> model) : model_(std::move(model)) {
    const ModelConfig& c = model_->config();
    const size_t t = c.tokens(), d = c.embed_dim;
    patches_.resize(size_t{c.patches()} * c.patch_dim());
    z_.resize(t * d);
    normed_.resize(t * d);
    qkv_.resize(t * 3 * size_t{c.inner_dim()});
    attended_.resize(t * size_t{c.inner_dim()});
    update_.resize(t * d);
    hidden_.resize(t * size_t{c.mlp_dim});
    pooled_.resize(d);
  }

  std::string describe() const override { return "reference: plain C++ loops, double accumulation, 1 thread"; }

  RunStatus run(const RunRequest& r, const RunControl& control, RunProfile& profile) override {
    const ModelConfig& c = model_->config();
    const size_t rows = size_t{c.tokens()} * c.embed_dim;
    if (x0_.size() < r.batch * rows) {  // grows once per larger batch, then reused
      x0_.resize(r.batch * rows);
      sum_.resize(r.batch * rows);
      branch_out_.resize(r.batch * rows);
    }
    const Clock::time_point start = Clock::now();
    for (size_t i = 0; i < r.batch; ++i) stem(r.input + i * c.image_floats(), &x0_[i * rows]);
    const Clock::time_point stem_done = Clock::now();
    profile.stem_ms += elapsed_ms(start, stem_done);
    std::fill(sum_.begin(), sum_.begin() + long(r.batch * rows), 0.0f);

    RunStatus status;
    for (uint32_t b = 0; b < r.branches && status.stopped == StopReason::kNone; ++b) {
      const Clock::time_point branch_start = Clock::now();
      control.branch_started(b);
      for (size_t i = 0; i < r.batch && status.stopped == StopReason::kNone; ++i) {
        std::copy(&x0_[i * rows], &x0_[i * rows] + rows, z_.begin());
        status.stopped = run_branch(model_->weights().branches[b], control);
        std::copy(z_.begin(), z_.end(), &branch_out_[i * rows]);
      }
      if (status.stopped != StopReason::kNone) break;
      const float scale = c.merge_weights.empty() ? 1.0f : c.merge_weights[b];
      for (size_t i = 0; i < r.batch * rows; ++i) sum_[i] += scale * branch_out_[i];
      status.branches_used = b + 1;
      profile.branch_ms[b] += elapsed_ms(branch_start, Clock::now());
    }
    const Clock::time_point branches_done = Clock::now();
    profile.branches_ms += elapsed_ms(stem_done, branches_done);

    const bool answer = status.stopped == StopReason::kNone ||
                        (status.stopped == StopReason::kDeadline && control.best_prefix_on_deadline &&
                         status.branches_used > 0);
    if (!answer) {
      status.branches_used = 0;
      return status;
    }
    for (size_t i = 0; i < r.batch; ++i) head(&sum_[i * rows], r.logits + i * c.classes);
    profile.head_ms += elapsed_ms(branches_done, Clock::now());
    return status;
  }

 private:
  // x0 = [cls; patches W^T + b] + pos.
  void stem(const float* image, float* x0) {
    const ModelConfig& c = model_->config();
    const ModelWeights& w = model_->weights();
    const size_t t = c.tokens(), d = c.embed_dim;
    ops::gather_patches(image, c.channels, c.image_size, c.patch_size, patches_.data());
    std::copy(w.cls_token, w.cls_token + d, x0);
    ops::linear(patches_.data(), c.patches(), c.patch_dim(), w.patch_weight, w.patch_bias, d, x0 + d);
    for (size_t i = 0; i < t * d; ++i) x0[i] += w.pos_embedding[i];
  }

  // z <- the branch's blocks applied to z.
  StopReason run_branch(const std::vector<BlockWeights>& blocks, const RunControl& control) {
    for (const BlockWeights& bw : blocks) {
      if (StopReason why = control.check(); why != StopReason::kNone) return why;
      attention_layer(bw);
      if (StopReason why = control.check(); why != StopReason::kNone) return why;
      mlp_layer(bw);
    }
    return StopReason::kNone;
  }

  void attention_layer(const BlockWeights& bw) {
    const ModelConfig& c = model_->config();
    const size_t t = c.tokens(), d = c.embed_dim, inner = c.inner_dim();
    ops::layer_norm(z_.data(), t, d, bw.attn_norm_weight, bw.attn_norm_bias, c.layernorm_eps, normed_.data());
    ops::linear(normed_.data(), t, d, bw.qkv_weight, nullptr, 3 * inner, qkv_.data());
    ops::attention(qkv_.data(), t, c.heads, c.head_dim, attended_.data());
    if (bw.out_weight) {
      ops::linear(attended_.data(), t, inner, bw.out_weight, bw.out_bias, d, update_.data());
    } else {
      std::copy(attended_.begin(), attended_.end(), update_.begin());  // inner == D
    }
    add_residual();
  }

  void mlp_layer(const BlockWeights& bw) {
    const ModelConfig& c = model_->config();
    const size_t t = c.tokens(), d = c.embed_dim;
    ops::layer_norm(z_.data(), t, d, bw.mlp_norm_weight, bw.mlp_norm_bias, c.layernorm_eps, normed_.data());
    ops::linear(normed_.data(), t, d, bw.fc1_weight, bw.fc1_bias, c.mlp_dim, hidden_.data());
    ops::gelu(hidden_.data(), hidden_.size(), c.gelu);
    ops::linear(hidden_.data(), t, c.mlp_dim, bw.fc2_weight, bw.fc2_bias, d, update_.data());
    add_residual();
  }

  // Authors' form: z = LN(z) + f(LN(z)); pre-norm form: z = z + f(LN(z)).
  void add_residual() {
    const bool prenorm = model_->config().residual == format::Residual::kPreNorm;
    const std::vector<float>& base = prenorm ? z_ : normed_;
    for (size_t i = 0; i < z_.size(); ++i) z_[i] = base[i] + update_[i];
  }

  // Pool the merged rows, LayerNorm, Linear.
  void head(const float* merged, float* logits) {
    const ModelConfig& c = model_->config();
    const ModelWeights& w = model_->weights();
    const size_t t = c.tokens(), d = c.embed_dim;
    if (c.pooling == format::Pooling::kCls) {
      std::copy(merged, merged + d, pooled_.begin());
    } else {
      for (size_t e = 0; e < d; ++e) {
        double acc = 0.0;
        for (size_t i = 0; i < t; ++i) acc += merged[i * d + e];
        pooled_[e] = float(acc / double(t));
      }
    }
    ops::layer_norm(pooled_.data(), 1, d, w.head_norm_weight, w.head_norm_bias, c.layernorm_eps, pooled_.data());
    ops::linear(pooled_.data(), 1, d, w.head_weight, w.head_bias, c.classes, logits);
  }

  std::shared_ptr<const Model> model_;
  std::vector<float> patches_, z_, normed_, qkv_, attended_, update_, hidden_, pooled_;
  std::vector<float> x0_, sum_, branch_out_;  // batch x T x D
};

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }
  std::unique_ptr<BackendSession> create_session(std::shared_ptr<const Model> model,
                                                 const BackendOptions&) const override {
    return std::make_unique<ReferenceSession>(std::move(model));
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace pfrt::core
