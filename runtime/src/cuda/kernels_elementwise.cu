// Element-wise kernels: the stem's patch gather and token assembly, bias + GELU, residual adds
// and the merge of branch outputs. Grid-stride loops over 64-bit indices.
#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/kernels.hpp"

namespace pfrt::cuda::kernels {

namespace {

constexpr unsigned kThreads = 256;
constexpr size_t kMaxBlocks = 4096;

unsigned blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

__device__ size_t first_index() { return size_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ size_t grid_stride() { return size_t(gridDim.x) * blockDim.x; }

__global__ void gather_patches_kernel(const float* images, size_t n, size_t channels, size_t image_size, size_t patch,
                                      float* patches) {
  const size_t grid = image_size / patch;
  const size_t per_patch = patch * patch * channels;
  const size_t per_image = grid * grid * per_patch;
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t b = i / per_image, within = i % per_image;
    const size_t p = within / per_patch, e = within % per_patch;
    const size_t gy = p / grid, gx = p % grid;
    const size_t py = e / (patch * channels), px = (e / channels) % patch, c = e % channels;
    const size_t y = gy * patch + py, x = gx * patch + px;
    patches[i] = images[b * channels * image_size * image_size + (c * image_size + y) * image_size + x];
  }
}

__global__ void assemble_tokens_kernel(const float* projected, const float* bias, const float* cls, const float* pos,
                                       size_t n, size_t tokens, size_t dim, float* x0) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t b = i / (tokens * dim), t = (i / dim) % tokens, e = i % dim;
    const float value = t == 0 ? cls[e] : projected[(b * (tokens - 1) + t - 1) * dim + e] + bias[e];
    x0[i] = value + pos[t * dim + e];
  }
}

__global__ void bias_gelu_kernel(float* y, const float* bias, size_t n, size_t cols, bool erf_form) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const float v = y[i] + bias[i % cols];
    if (erf_form) {
      y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    } else {
      const float k = 0.79788456080286536f;  // sqrt(2 / pi)
      y[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
  }
}

__global__ void add_bias_kernel(float* y, const float* bias, size_t n, size_t cols) {
  for (size_t i = first_index(); i < n; i += grid_stride()) y[i] += bias[i % cols];
}

__global__ void residual_kernel(float* z, const float* base, const float* update, const float* bias, size_t n,
                                size_t cols) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    z[i] = base[i] + update[i] + (bias != nullptr ? bias[i % cols] : 0.0f);
  }
}

__global__ void merge_kernel(const float* outs, size_t stride, size_t count, const float* weights, size_t n,
                             float* merged) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    float sum = 0.0f;  // the reference's order: branch 0 first, one rounding per add
    for (size_t b = 0; b < count; ++b) sum += (weights != nullptr ? weights[b] : 1.0f) * outs[b * stride + i];
    merged[i] = sum;
  }
}

}  // namespace

cudaError_t probe() {
  cudaFuncAttributes attributes;
  return cudaFuncGetAttributes(&attributes, add_bias_kernel);
}

void gather_patches(const float* images, size_t batch, size_t channels, size_t image_size, size_t patch,
                    float* patches, cudaStream_t stream) {
  const size_t grid = image_size / patch;  // pixels past the last whole patch are not used
  const size_t count = batch * grid * grid * patch * patch * channels;
  gather_patches_kernel<<<blocks_for(count), kThreads, 0, stream>>>(images, count, channels, image_size, patch,
                                                                      patches);
  check_launch("gather_patches kernel");
}

void assemble_tokens(const float* projected, const float* bias, const float* cls, const float* pos, size_t batch,
                     size_t tokens, size_t dim, float* x0, cudaStream_t stream) {
  const size_t n = batch * tokens * dim;
  assemble_tokens_kernel<<<blocks_for(n), kThreads, 0, stream>>>(projected, bias, cls, pos, n, tokens, dim, x0);
  check_launch("assemble_tokens kernel");
}

void bias_gelu(float* y, const float* bias, size_t rows, size_t cols, format::Gelu form, cudaStream_t stream) {
  const size_t n = rows * cols;
  bias_gelu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, bias, n, cols, form == format::Gelu::kErf);
  check_launch("bias_gelu kernel");
}

void add_bias(float* y, const float* bias, size_t rows, size_t cols, cudaStream_t stream) {
  const size_t n = rows * cols;
  add_bias_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, bias, n, cols);
  check_launch("add_bias kernel");
}

void residual(float* z, const float* base, const float* update, const float* bias, size_t rows, size_t cols,
              cudaStream_t stream) {
  const size_t n = rows * cols;
  residual_kernel<<<blocks_for(n), kThreads, 0, stream>>>(z, base, update, bias, n, cols);
  check_launch("residual kernel");
}

void merge_branches(const float* outs, size_t stride, size_t count, const float* weights, size_t n, float* merged,
                    cudaStream_t stream) {
  merge_kernel<<<blocks_for(n), kThreads, 0, stream>>>(outs, stride, count, weights, n, merged);
  check_launch("merge_branches kernel");
}

}  // namespace pfrt::cuda::kernels
