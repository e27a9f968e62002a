// Element-wise kernels: the stem's patch gather and token assembly, the GEMM epilogue (bias,
// GELU, residual), adds and the merge of branch outputs. Grid-stride loops over 64-bit indices.
#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/kernel_common.cuh"
#include "cuda/kernels.hpp"

namespace pfrt::cuda::kernels {

namespace {

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
    const float value =
        t == 0 ? cls[e] : projected[(b * (tokens - 1) + t - 1) * dim + e] + (bias != nullptr ? bias[e] : 0.0f);
    x0[i] = value + pos[t * dim + e];
  }
}

__global__ void linear_epilogue_kernel(float* y, size_t y_stride, size_t n, size_t cols, const float* bias, bool gelu,
                                       bool erf_form, const float* residual, size_t residual_stride) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t r = i / cols, c = i % cols;
    float v = y[r * y_stride + c] + (bias != nullptr ? bias[c] : 0.0f);
    if (gelu) v = kernels::gelu(v, erf_form);
    if (residual != nullptr) v = residual[r * residual_stride + c] + v;
    y[r * y_stride + c] = v;
  }
}

__global__ void add_rows_kernel(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y,
                                size_t y_stride, size_t n, size_t cols) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t r = i / cols, c = i % cols;
    y[r * y_stride + c] = a[r * a_stride + c] + b[r * b_stride + c];
  }
}

__global__ void merge_kernel(const float* outs, size_t stride, size_t first, size_t step, size_t end,
                             const float* weights, size_t n, float* merged) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    float sum = 0.0f;  // the reference's order: branch 0 first, one rounding per add
    for (size_t b = first; b < end; b += step) sum += (weights != nullptr ? weights[b] : 1.0f) * outs[b * stride + i];
    merged[i] = sum;
  }
}

}  // namespace

cudaError_t probe() {
  cudaFuncAttributes attributes;
  return cudaFuncGetAttributes(&attributes, add_rows_kernel);
}

void gather_patches(const float* images, size_t batch, size_t channels, size_t image_size, size_t patch, float* patches,
                    cudaStream_t stream) {
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

void linear_epilogue(float* y, size_t y_stride, size_t rows, size_t cols, const float* bias, bool gelu,
                     format::Gelu form, const float* residual, size_t residual_stride, cudaStream_t stream) {
  const size_t n = rows * cols;
  if (n == 0 || (bias == nullptr && !gelu && residual == nullptr)) return;
  linear_epilogue_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, y_stride, n, cols, bias, gelu,
                                                                 form == format::Gelu::kErf, residual, residual_stride);
  check_launch("linear_epilogue kernel");
}

void add_rows(const float* a, size_t a_stride, const float* b, size_t b_stride, float* y, size_t y_stride, size_t rows,
              size_t cols, cudaStream_t stream) {
  const size_t n = rows * cols;
  if (n == 0) return;
  add_rows_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a, a_stride, b, b_stride, y, y_stride, n, cols);
  check_launch("add_rows kernel");
}

void merge_branches(const float* outs, size_t stride, size_t first, size_t step, size_t end, const float* weights,
                    size_t n, float* merged, cudaStream_t stream) {
  merge_kernel<<<blocks_for(n), kThreads, 0, stream>>>(outs, stride, first, step, end, weights, n, merged);
  check_launch("merge_branches kernel");
}

}  // namespace pfrt::cuda::kernels
