// Attention core for short sequences (ViT: ~200 tokens), one head of one image at a time.
// K is transposed once (pre-scaled) so that a block of query rows (kRows) times 32 keys is an
// outer-product accumulation in registers; softmax is folded into the ·V pass (normalised
// at the end); ·V accumulates a block of query rows x 32 value columns in registers.
#include "cpu/kernels/attention_blocks.hpp"
#include "cpu/kernels/isa_kernels.hpp"
#include "cpu/kernels/math.hpp"

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

namespace {

// Query rows per block. A block's scores tile (rows x 32 keys) lives in registers: 8 rows take
// 16 of AVX-512's 32 registers, and read each line of the transposed keys (which outgrow L1)
// half as often as 4 rows (1.25x faster on Zen 5, identical results: each output is the same
// chain of operations); 4 rows already fill AVX2's 16 registers and NEON's 32 of 4 lanes.
#if defined(__AVX512F__)
constexpr size_t kRows = 8;
#else
constexpr size_t kRows = 4;
#endif
static_assert(kAttentionBlockRows % kRows == 0, "a whole number of register blocks per planned block");
constexpr size_t kKeys = 32;   // keys per register tile of QK^T
constexpr size_t kCols = 32;   // value columns per register tile of ·V
constexpr size_t kLanes = 16;  // partial sums of the softmax reductions

size_t padded_tokens(size_t tokens) { return (tokens + kKeys - 1) / kKeys * kKeys; }
size_t smaller(size_t a, size_t b) { return a < b ? a : b; }

// kt[e, j] = k[j, e] * scale for j < tokens, 0 for the padding up to tp, rows e of [e_begin, e_end).
void transpose_keys(const float* k, size_t stride, size_t tokens, size_t e_begin, size_t e_end, float scale, size_t tp,
                    float* kt) {
  for (size_t e = e_begin; e < e_end; ++e) {
    float* row = kt + e * tp;
    for (size_t j = 0; j < tokens; ++j) row[j] = k[j * stride + e] * scale;
    for (size_t j = tokens; j < tp; ++j) row[j] = 0.0f;
  }
}

// s[r, j] = q_r . kt[:, j] for kRows query rows (q[r] may repeat a row) and all tp keys.
void scores(const float* const q[kRows], const float* kt, size_t tp, size_t head_dim, float* s) {
  for (size_t j0 = 0; j0 < tp; j0 += kKeys) {
    float acc[kRows][kKeys] = {};
    for (size_t e = 0; e < head_dim; ++e) {
      const float* kr = kt + e * tp + j0;
      for (size_t r = 0; r < kRows; ++r) {
        const float qv = q[r][e];
        for (size_t j = 0; j < kKeys; ++j) acc[r][j] += qv * kr[j];
      }
    }
    for (size_t r = 0; r < kRows; ++r) {
      for (size_t j = 0; j < kKeys; ++j) s[r * tp + j0 + j] = acc[r][j];
    }
  }
}

// The largest of the first `tokens` entries of s.
float row_max(const float* s, size_t tokens) {
  float mx[kLanes];
  for (size_t l = 0; l < kLanes; ++l) mx[l] = s[0];
  size_t j = 0;
  for (; j + kLanes <= tokens; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) mx[l] = s[j + l] > mx[l] ? s[j + l] : mx[l];
  }
  float m = s[0];
  for (; j < tokens; ++j) m = s[j] > m ? s[j] : m;
  for (size_t l = 0; l < kLanes; ++l) m = mx[l] > m ? mx[l] : m;
  return m;
}

// The first `tokens` entries of s become exp(s - m); returns their sum.
float exp_sum(float* s, size_t tokens, float m) {
  float sum[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= tokens; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      s[j + l] = fast_exp(s[j + l] - m);
      sum[l] += s[j + l];
    }
  }
  float total = 0.0f;
  for (; j < tokens; ++j) {
    s[j] = fast_exp(s[j] - m);
    total += s[j];
  }
  for (size_t l = 0; l < kLanes; ++l) total += sum[l];
  return total;
}

// Row r of s becomes exp(s - max) over the first `tokens` entries; returns 1 / sum.
float softmax_numerators(float* s, size_t tokens) { return 1.0f / exp_sum(s, tokens, row_max(s, tokens)); }

// out[r, e] = inv[r] * sum_j p[r, j] v[j, e] for columns [e0, e0 + kCols).
void values_tile(const float* p, size_t tp, const float* v, size_t stride, size_t tokens, size_t e0,
                 const float inv[kRows], float* const out[kRows]) {
  float acc[kRows][kCols] = {};
  for (size_t j = 0; j < tokens; ++j) {
    const float* vr = v + j * stride + e0;
    for (size_t r = 0; r < kRows; ++r) {
      const float pv = p[r * tp + j];
      for (size_t e = 0; e < kCols; ++e) acc[r][e] += pv * vr[e];
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t e = 0; e < kCols; ++e) out[r][e0 + e] = acc[r][e] * inv[r];
  }
}

// The same for the last, narrower column block [e0, head_dim).
void values_tail(const float* p, size_t tp, const float* v, size_t stride, size_t tokens, size_t e0, size_t head_dim,
                 const float inv[kRows], float* const out[kRows]) {
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t e = e0; e < head_dim; ++e) out[r][e] = 0.0f;
    for (size_t j = 0; j < tokens; ++j) {
      const float pv = p[r * tp + j];
      const float* vr = v + j * stride;
      for (size_t e = e0; e < head_dim; ++e) out[r][e] += pv * vr[e];
    }
    for (size_t e = e0; e < head_dim; ++e) out[r][e] *= inv[r];
  }
}

}  // namespace

size_t attention_keys_floats(size_t tokens, size_t head_dim) { return padded_tokens(tokens) * head_dim; }
size_t attention_scores_floats(size_t tokens, size_t head_dim) { return padded_tokens(tokens) * kRows + head_dim; }

void attention_keys(const float* k, size_t stride, size_t tokens, size_t head_dim, size_t e_begin, size_t e_end,
                    float* keys) {
  transpose_keys(k, stride, tokens, e_begin, smaller(e_end, head_dim), 1.0f / __builtin_sqrtf(float(head_dim)),
                 padded_tokens(tokens), keys);
}

void attention_queries(const float* q, const float* keys, const float* v, size_t stride, size_t tokens, size_t head_dim,
                       size_t queries, float* out, size_t out_stride, float* score_scratch) {
  const size_t tp = padded_tokens(tokens);
  const float* kt = keys;
  float* s = score_scratch;
  float* discard = s + kRows * tp;  // head_dim floats: where the padding rows of a short block write
  for (size_t i0 = 0; i0 < queries; i0 += kRows) {
    const size_t rows = smaller(kRows, queries - i0);
    const float* qr[kRows];
    float* outr[kRows];
    float inv[kRows];
    for (size_t r = 0; r < kRows; ++r) {
      qr[r] = q + (i0 + smaller(r, rows - 1)) * stride;
      outr[r] = r < rows ? out + (i0 + r) * out_stride : discard;
    }
    scores(qr, kt, tp, head_dim, s);
    for (size_t r = 0; r < kRows; ++r) inv[r] = softmax_numerators(s + r * tp, tokens);
    size_t e0 = 0;
    for (; e0 + kCols <= head_dim; e0 += kCols) values_tile(s, tp, v, stride, tokens, e0, inv, outr);
    if (e0 < head_dim) values_tail(s, tp, v, stride, tokens, e0, head_dim, inv, outr);
  }
}

void attention_row_part(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                        float* part, float* s) {
  const float scale = 1.0f / __builtin_sqrtf(float(head_dim));
  for (size_t j = 0; j < tokens; ++j) {
    const float* kr = k + j * stride;
    float lane[kLanes] = {};
    size_t e = 0;
    for (; e + kLanes <= head_dim; e += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) lane[l] += q[e + l] * kr[e + l];
    }
    float dot = 0.0f;
    for (; e < head_dim; ++e) dot += q[e] * kr[e];
    for (size_t l = 0; l < kLanes; ++l) dot += lane[l];
    s[j] = dot * scale;
  }
  const float m = row_max(s, tokens);
  part[0] = m;
  part[1] = exp_sum(s, tokens, m);
  float* acc = part + 2;
  for (size_t e = 0; e < head_dim; ++e) acc[e] = 0.0f;
  for (size_t j = 0; j < tokens; ++j) {
    const float p = s[j];
    const float* vr = v + j * stride;
    for (size_t e = 0; e < head_dim; ++e) acc[e] += p * vr[e];
  }
}

void attention_row_combine(const float* parts, size_t count, size_t part_stride, size_t head_dim, float* out) {
  if (count == 1) {  // one part: no rescaling (the row attended in one pass)
    const float inv = 1.0f / parts[1];
    for (size_t e = 0; e < head_dim; ++e) out[e] = parts[2 + e] * inv;
    return;
  }
  float m = parts[0];
  for (size_t i = 1; i < count; ++i) m = parts[i * part_stride] > m ? parts[i * part_stride] : m;
  float total = 0.0f;
  for (size_t e = 0; e < head_dim; ++e) out[e] = 0.0f;
  for (size_t i = 0; i < count; ++i) {
    const float* part = parts + i * part_stride;
    const float w = fast_exp(part[0] - m);
    total += w * part[1];
    for (size_t e = 0; e < head_dim; ++e) out[e] += w * part[2 + e];
  }
  const float inv = 1.0f / total;
  for (size_t e = 0; e < head_dim; ++e) out[e] *= inv;
}

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
