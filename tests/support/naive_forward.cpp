#include "support/naive_forward.hpp"

#include "reference/ops.hpp"

namespace pfrt::test {

namespace ops = pfrt::reference;

std::vector<float> naive_logits(const core::Model& model, const float* image, uint32_t branches) {
  const format::ModelConfig& c = model.config();
  const core::ModelWeights& w = model.weights();
  const size_t t = c.tokens(), d = c.embed_dim, inner = c.inner_dim(), m = c.mlp_dim;
  const bool prenorm = c.residual == format::Residual::kPreNorm;

  std::vector<float> patches(size_t{c.patches()} * c.patch_dim()), x0(t * d);
  ops::gather_patches(image, c.channels, c.image_size, c.patch_size, patches.data());
  for (size_t e = 0; e < d; ++e) x0[e] = w.cls_token[e];
  ops::linear(patches.data(), c.patches(), c.patch_dim(), w.patch_weight, w.patch_bias, d, x0.data() + d);
  for (size_t i = 0; i < t * d; ++i) x0[i] += w.pos_embedding[i];

  std::vector<float> sum(t * d, 0.0f), z(t * d), a(t * d), qkv(t * 3 * inner), att(t * inner), update(t * d),
      hidden(t * m);
  for (uint32_t b = 0; b < branches; ++b) {
    z = x0;
    for (const core::BlockWeights& bw : w.branches[b]) {
      ops::layer_norm(z.data(), t, d, bw.attn_norm_weight, bw.attn_norm_bias, c.layernorm_eps, a.data());
      ops::linear(a.data(), t, d, bw.qkv_weight, nullptr, 3 * inner, qkv.data());
      ops::attention(qkv.data(), t, c.heads, c.head_dim, att.data());
      if (bw.out_weight != nullptr) {
        ops::linear(att.data(), t, inner, bw.out_weight, bw.out_bias, d, update.data());
      } else {
        update = att;
      }
      for (size_t i = 0; i < t * d; ++i) z[i] = (prenorm ? z[i] : a[i]) + update[i];
      ops::layer_norm(z.data(), t, d, bw.mlp_norm_weight, bw.mlp_norm_bias, c.layernorm_eps, a.data());
      ops::linear(a.data(), t, d, bw.fc1_weight, bw.fc1_bias, m, hidden.data());
      ops::gelu(hidden.data(), hidden.size(), c.gelu);
      ops::linear(hidden.data(), t, m, bw.fc2_weight, bw.fc2_bias, d, update.data());
      for (size_t i = 0; i < t * d; ++i) z[i] = (prenorm ? z[i] : a[i]) + update[i];
    }
    const float scale = c.merge_weights.empty() ? 1.0f : c.merge_weights[b];
    for (size_t i = 0; i < t * d; ++i) sum[i] += scale * z[i];
  }

  std::vector<float> pooled(d, 0.0f), logits(c.classes);
  for (size_t e = 0; e < d; ++e) {
    if (c.pooling == format::Pooling::kCls) {
      pooled[e] = sum[e];
    } else {
      double acc = 0.0;
      for (size_t r = 0; r < t; ++r) acc += sum[r * d + e];
      pooled[e] = float(acc / double(t));
    }
  }
  ops::layer_norm(pooled.data(), 1, d, w.head_norm_weight, w.head_norm_bias, c.layernorm_eps, pooled.data());
  ops::linear(pooled.data(), 1, d, w.head_weight, w.head_bias, c.classes, logits.data());
  return logits;
}

}  // namespace pfrt::test
