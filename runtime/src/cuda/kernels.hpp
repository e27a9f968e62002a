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
void gather_patches(const float* images, size_t batch, size_t channels, size_t image_size, size_t patch,
                    float* patches, cudaStream_t stream);
// x0[b] = [cls + pos[0]; projected[b] + bias + pos[1..]], x0: [batch, T, D].
void assemble_tokens(const float* projected, const float* bias, const float* cls, const float* pos, size_t batch,
                     size_t tokens, size_t dim, float* x0, cudaStream_t stream);
// In place y[r, c] = GELU(y[r, c] + bias[c]) for y [rows, cols].
void bias_gelu(float* y, const float* bias, size_t rows, size_t cols, format::Gelu form, cudaStream_t stream);
// In place y[r, c] += bias[c].
void add_bias(float* y, const float* bias, size_t rows, size_t cols, cudaStream_t stream);
// z[r, c] = base[r, c] + update[r, c] + (bias ? bias[c] : 0); base may be z itself.
void residual(float* z, const float* base, const float* update, const float* bias, size_t rows, size_t cols,
              cudaStream_t stream);
// merged[i] = sum over b < count, in branch order, of (weights ? weights[b] : 1) * outs[b * stride + i].
void merge_branches(const float* outs, size_t stride, size_t count, const float* weights, size_t n, float* merged,
                    cudaStream_t stream);

// kernels_norm.cu

// Each row of x [rows, dim] normalised (biased variance, eps), scaled and shifted; y may be x.
void layer_norm(const float* x, size_t rows, size_t dim, const float* gamma, const float* beta, float eps, float* y,
                cudaStream_t stream);
// pooled[b] = row 0 of merged[b] (cls) or the mean of its T rows (mean); merged: [batch, T, D].
void pool(const float* merged, size_t batch, size_t tokens, size_t dim, format::Pooling pooling, float* pooled,
          cudaStream_t stream);

// kernels_attention.cu

// Self-attention of each image: qkv [batch, T, 3 * heads * head_dim] (q, k, v, head-major)
// -> out [batch, T, heads * head_dim], softmax(q k^T / sqrt(head_dim)) v per head, fused: one
// block per (query row, head, image) keeps its row of scores in shared memory
// (cuda_plan.hpp's attention_shared_bytes), so T is bounded (short sequences, ViT-sized).
void attention(const float* qkv, size_t batch, size_t tokens, size_t heads, size_t head_dim, float* out,
               cudaStream_t stream);

}  // namespace pfrt::cuda::kernels

namespace pfrt::cuda::kernels {

// cudaSuccess when this build's kernels can run on the current device; otherwise the error a
// launch would give (cudaErrorNoKernelImageForDevice when its architecture was not built).
cudaError_t probe();

}  // namespace pfrt::cuda::kernels
