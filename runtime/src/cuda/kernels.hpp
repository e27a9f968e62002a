// The cuda backend's own kernels (GEMMs go through cuBLAS, see linear.hpp). Each function
// enqueues its work on `stream` and checks the launch; shapes are row-major like the
// reference ops (runtime/src/reference/ops.hpp), which the GPU tests compare them against.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "format/model_spec.hpp"

namespace pfrt::cuda::kernels {

// kernels_elementwise.cu

// images [batch, C, S, S] -> patches [batch * N, P*P*C] in the stem's order (channel fastest).
void gather_patches(const float* images, size_t batch, size_t channels, size_t image_size, size_t patch, float* patches,
                    cudaStream_t stream);
// x0[b] = [cls + pos[0]; projected[b] (+ bias) + pos[1..]], x0: [batch, T, D]; bias may be null.
void assemble_tokens(const float* projected, const float* bias, const float* cls, const float* pos, size_t batch,
                     size_t tokens, size_t dim, float* x0, cudaStream_t stream);
// The epilogue of a GEMM, in place on y [rows, cols] (rows y_stride apart):
// y = act(y + bias) + residual, bias and residual optional (null), act GELU when `gelu`.
void linear_epilogue(float* y, size_t y_stride, size_t rows, size_t cols, const float* bias, bool gelu,
                     format::Gelu form, const float* residual, size_t residual_stride, cudaStream_t stream);
// y = a + b over [rows, cols], each with its own row stride.
void add_rows(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
              size_t cols, cudaStream_t stream);
// merged[i] = sum over b = first, first + step, ... < end, in branch order, of (weights ? weights[b] : 1) *
// outs[b * stride + i] (step 1 from 0: every branch of the prefix; a shard's: from its rank by the ranks).
void merge_branches(const float* outs, size_t stride, size_t first, size_t step, size_t end, const float* weights,
                    size_t n, float* merged, cudaStream_t stream);

// kernels_norm.cu

// Each row of x [rows, dim] normalised (biased variance, eps), scaled and shifted; y may be x.
void layer_norm(const float* x, size_t rows, size_t dim, const float* gamma, const float* beta, float eps, float* y,
                cudaStream_t stream);
// pooled[b] = row 0 of merged[b] (cls) or the mean of its T rows (mean); merged: [batch, T, D].
void pool(const float* merged, size_t batch, size_t tokens, size_t dim, format::Pooling pooling, float* pooled,
          cudaStream_t stream);

// kernels_attention.cu

// Attention of `queries` query rows per image against `tokens` key and value rows, per head:
// out[b, i, head] = softmax(q[b, i, head] k[b, :, head]^T / sqrt(head_dim)) v[b, :, head].
// Each operand is rows of heads x head_dim values (head-major), with its own row and image
// strides. Fused: one block per (query row, head, image) keeps its row of scores in shared
// memory (cuda_plan.hpp's attention_shared_bytes), so T is bounded (short sequences, ViT-sized).
struct AttentionOperands {
  const float* q;
  size_t q_row, q_image;
  const float* k;
  const float* v;
  size_t kv_row, kv_image;
  float* out;
  size_t out_row, out_image;
};
void attention(const AttentionOperands& operands, size_t batch, size_t queries, size_t tokens, size_t heads,
               size_t head_dim, cudaStream_t stream);

}  // namespace pfrt::cuda::kernels

namespace pfrt::cuda::kernels {

// cudaSuccess when this build's kernels can run on the current device; otherwise the error a
// launch would give (cudaErrorNoKernelImageForDevice when its architecture was not built).
cudaError_t probe();

}  // namespace pfrt::cuda::kernels
