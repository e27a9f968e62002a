// Fused attention for short sequences: one block per (query row, head, image) computes the
// row's scores q.k_j / sqrt(d) into shared memory, turns them into softmax weights (max
// subtracted), and writes the weighted sum of the values. No T x T matrix in global memory.
// Keys are read a row at a time by a whole warp (lanes along the head's values: coalesced),
// values a column of the head per thread (the threads of a warp on neighbouring columns).
#include <cmath>

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_plan.hpp"
#include "cuda/kernels.hpp"

namespace pfrt::cuda::kernels {

namespace {

constexpr unsigned kThreads = kAttentionThreads;

enum class Reduce { kSum, kMax };

// Reduction of v over the block; every thread gets the result. `shared` holds a float per warp.
template <Reduce op>
__device__ float block_reduce(float v, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_down_sync(0xffffffffu, v, offset);
    v = op == Reduce::kSum ? v + other : fmaxf(v, other);
  }
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float r = shared[0];
  for (unsigned w = 1; w < blockDim.x / 32; ++w) r = op == Reduce::kSum ? r + shared[w] : fmaxf(r, shared[w]);
  return r;
}

__global__ void attention_kernel(AttentionOperands o, size_t tokens, size_t head_dim, float scale) {
  extern __shared__ float row[];  // the query [head_dim], then its scores [tokens]
  __shared__ float partial[kThreads / 32];
  float* q = row;
  float* scores = row + head_dim;
  const size_t i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const float* query = o.q + b * o.q_image + i * o.q_row + h * head_dim;
  const float* keys = o.k + b * o.kv_image + h * head_dim;
  const float* values = o.v + b * o.kv_image + h * head_dim;

  for (size_t e = threadIdx.x; e < head_dim; e += blockDim.x) q[e] = query[e];
  __syncthreads();

  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (size_t j = warp; j < tokens; j += warps) {
    const float* key = keys + j * o.kv_row;
    float dot = 0.0f;
    for (size_t e = lane; e < head_dim; e += 32) dot += q[e] * key[e];
    for (int offset = 16; offset > 0; offset /= 2) dot += __shfl_down_sync(0xffffffffu, dot, offset);
    if (lane == 0) scores[j] = dot * scale;
  }
  __syncthreads();  // every score written
  float local_max = -INFINITY;
  for (size_t j = threadIdx.x; j < tokens; j += blockDim.x) local_max = fmaxf(local_max, scores[j]);
  const float max = block_reduce<Reduce::kMax>(local_max, partial);
  float local_sum = 0.0f;
  for (size_t j = threadIdx.x; j < tokens; j += blockDim.x) {
    scores[j] = expf(scores[j] - max);
    local_sum += scores[j];
  }
  const float inv_sum = 1.0f / block_reduce<Reduce::kSum>(local_sum, partial);  // also publishes scores

  float* dst = o.out + b * o.out_image + i * o.out_row + h * head_dim;
  for (size_t e = threadIdx.x; e < head_dim; e += blockDim.x) {
    float acc = 0.0f;
    for (size_t j = 0; j < tokens; ++j) acc += scores[j] * values[j * o.kv_row + e];
    dst[e] = acc * inv_sum;
  }
}

}  // namespace

void attention(const AttentionOperands& operands, size_t batch, size_t queries, size_t tokens, size_t heads,
               size_t head_dim, cudaStream_t stream) {
  if (batch == 0 || queries == 0) return;
  const size_t shared = (head_dim + tokens) * sizeof(float);  // cuda_plan.hpp's attention_shared_bytes
  const dim3 grid{unsigned(queries), unsigned(heads), unsigned(batch)};
  const float scale = float(1.0 / std::sqrt(double(head_dim)));
  attention_kernel<<<grid, kThreads, shared, stream>>>(operands, tokens, head_dim, scale);
  check_launch("attention kernel");
}

}  // namespace pfrt::cuda::kernels
