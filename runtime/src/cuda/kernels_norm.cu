// Row reductions: LayerNorm (one block per row, two passes: mean, then variance of the
// centred values, as the reference computes it) and the head's pooling.
#include "cuda/cuda_check.hpp"
#include "cuda/kernels.hpp"

namespace pfrt::cuda::kernels {

namespace {

constexpr unsigned kThreads = 128;  // a multiple of the warp size

// Sum of v over the block; every thread gets the result. `shared` holds one float per warp.
__device__ float block_sum(float v, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) total += shared[w];
  return total;
}

// Sum of v over the block in double, for the rare rows whose float sums overflow.
__device__ double block_sum_double(double v, double* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double total = 0.0;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) total += shared[w];
  return total;
}

__global__ void layer_norm_kernel(const float* x, size_t dim, const float* gamma, const float* beta, float eps,
                                  float* y) {
  __shared__ float shared[kThreads / 32];
  const float* row = x + size_t(blockIdx.x) * dim;
  float* out = y + size_t(blockIdx.x) * dim;
  float s = 0.0f;
  for (size_t i = threadIdx.x; i < dim; i += blockDim.x) s += row[i];
  const float mean = block_sum(s, shared) / float(dim);
  float sq = 0.0f;
  for (size_t i = threadIdx.x; i < dim; i += blockDim.x) sq += (row[i] - mean) * (row[i] - mean);
  const float var = block_sum(sq, shared) / float(dim);
  if (!isfinite(var)) {  // values beyond about 1e19: the row in double, as the reference (same for every thread)
    __shared__ double shared_double[kThreads / 32];
    double ds = 0.0;
    for (size_t i = threadIdx.x; i < dim; i += blockDim.x) ds += row[i];
    const double dmean = block_sum_double(ds, shared_double) / double(dim);
    double dsq = 0.0;
    for (size_t i = threadIdx.x; i < dim; i += blockDim.x) dsq += (row[i] - dmean) * (row[i] - dmean);
    const double dinv = rsqrt(block_sum_double(dsq, shared_double) / double(dim) + double(eps));
    __syncthreads();
    for (size_t i = threadIdx.x; i < dim; i += blockDim.x) out[i] = float((row[i] - dmean) * dinv * gamma[i] + beta[i]);
    return;
  }
  const float inv = rsqrtf(var + eps);
  __syncthreads();  // y may alias x: every thread has read its row before anyone writes
  for (size_t i = threadIdx.x; i < dim; i += blockDim.x) out[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
}

__global__ void pool_kernel(const float* merged, size_t tokens, size_t dim, bool mean, float* pooled) {
  const size_t b = blockIdx.x;
  const float* image = merged + b * tokens * dim;
  for (size_t e = threadIdx.x; e < dim; e += blockDim.x) {
    if (!mean) {
      pooled[b * dim + e] = image[e];
      continue;
    }
    float acc = 0.0f;
    for (size_t t = 0; t < tokens; ++t) acc += image[t * dim + e];
    pooled[b * dim + e] = acc / float(tokens);
  }
}

}  // namespace

void layer_norm(const float* x, size_t rows, size_t dim, const float* gamma, const float* beta, float eps, float* y,
                cudaStream_t stream) {
  if (rows == 0) return;
  layer_norm_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, dim, gamma, beta, eps, y);
  check_launch("layer_norm kernel");
}

void pool(const float* merged, size_t batch, size_t tokens, size_t dim, format::Pooling pooling, float* pooled,
          cudaStream_t stream) {
  if (batch == 0) return;
  pool_kernel<<<unsigned(batch), kThreads, 0, stream>>>(merged, tokens, dim, pooling == format::Pooling::kMean, pooled);
  check_launch("pool kernel");
}

}  // namespace pfrt::cuda::kernels
