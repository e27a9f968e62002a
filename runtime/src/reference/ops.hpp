// Plain, obviously correct implementations of every operator a Para-Former needs. They are
// the oracle the optimised backends are tested against: clarity over speed, and dot products
// accumulated in double so that the oracle is more accurate than what it checks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/model_spec.hpp"

namespace pfrt::reference {

// y[r, o] = sum_i x[r, i] * w[o, i] + (bias ? bias[o] : 0); w is [out, in] (nn.Linear layout).
void linear(const float* x, size_t rows, size_t in, const float* w, const float* bias, size_t out, float* y);

// The int8 contract's dynamic per-row quantisation of one row of `in` values: q = round half
// to even of x * (127 / amax), clamped to [-127, 127], and *scale = amax / 127 (both 0 for a
// row of zeros). f32 arithmetic in exactly this order, as every backend does it.
void quantize_row(const float* x, size_t in, int8_t* q, float* scale);

// One row through an int8 GEMM (the contract): x quantised by quantize_row into `q` (scratch of
// `in` bytes), acc[o] = sum_i q[i] * w[o, i] exact in int32, y[o] = float(acc[o]) * (scale *
// w_scales[o]) + (bias ? bias[o] : 0) in f32.
void linear_int8(const float* x, size_t in, const int8_t* w, const float* w_scales, const float* bias, size_t out,
                 int8_t* q, float* y);

// Normalises each row of x over `dim` values, then scales and shifts: y may alias x.
void layer_norm(const float* x, size_t rows, size_t dim, const float* gamma, const float* beta, float eps, float* y);

// In place: x = GELU(x), exact erf form or the tanh approximation.
void gelu(float* x, size_t n, format::Gelu form);

// In place softmax of each row.
void softmax_rows(float* x, size_t rows, size_t cols);

// Multi-head self-attention core. qkv: [tokens, 3 * heads * head_dim] holding q, k, v in that
// order, each head-major. out: [tokens, heads * head_dim] = concat_h softmax(q_h k_h^T / sqrt(d)) v_h.
void attention(const float* qkv, size_t tokens, size_t heads, size_t head_dim, float* out);

// The same for `queries` query rows against `tokens` key/value rows, each operand with its own
// row stride: out[i, head] = softmax(q_i,head k_head^T / sqrt(head_dim)) v_head. `scores`:
// scratch of `tokens` floats.
void attention_rows(const float* q, size_t q_stride, const float* k, const float* v, size_t kv_stride, size_t tokens,
                    size_t queries, size_t heads, size_t head_dim, float* out, size_t out_stride, float* scores);

// The stem's patch gather: image [C, S, S] -> patches [N, P * P * C], patches row-major over
// the grid, each flattened (row-in-patch, column-in-patch, channel) with channel fastest.
void gather_patches(const float* image, size_t channels, size_t image_size, size_t patch, float* patches);

}  // namespace pfrt::reference
