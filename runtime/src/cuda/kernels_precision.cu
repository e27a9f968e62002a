// The kernels around the f16 and int8 GEMMs (kernels_precision.hpp).
#include <cuda_fp16.h>

#include "cuda/cuda_check.hpp"
#include "cuda/kernel_common.cuh"
#include "cuda/kernels_precision.hpp"

namespace pfrt::cuda::kernels {

namespace {

constexpr unsigned kRowThreads = 128;  // one block per row when quantising (a multiple of the warp size)
constexpr size_t kMaxRowBlocks = 65535;
constexpr unsigned kTile = 16;  // the own int8 GEMM: 16 x 16 outputs per block

__global__ void to_half_kernel(const float* x, size_t x_stride, size_t in, uint16_t* half, size_t ld, size_t n) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t r = i / ld, k = i % ld;
    half[i] = k < in ? __half_as_ushort(__float2half_rn(x[r * x_stride + k])) : uint16_t{0};
  }
}

__device__ uint32_t abs_bits(float v) { return __float_as_uint(v) & 0x7FFFFFFFu; }

__global__ void quantize_rows_kernel(const float* x, size_t x_stride, size_t rows, size_t in, int8_t* q, size_t ld,
                                     float* scales) {
  __shared__ uint32_t partial[kRowThreads / 32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * x_stride;
    // max |x| as bits: for non-negative floats integer order is float order (NaN above inf).
    uint32_t m = 0;
    for (size_t k = threadIdx.x; k < in; k += blockDim.x) m = max(m, abs_bits(row[k]));
    for (int offset = 16; offset > 0; offset >>= 1) m = max(m, __shfl_xor_sync(0xFFFFFFFFu, m, offset));
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = m;
    __syncthreads();
    uint32_t amax_bits = 0;
    for (unsigned w = 0; w < kRowThreads / 32; ++w) amax_bits = max(amax_bits, partial[w]);
    __syncthreads();  // partial is written again for the next row
    const float amax = __uint_as_float(amax_bits);
    const float inv = amax_bits == 0 ? 0.0f : __fdiv_rn(127.0f, amax);
    int8_t* out = q + r * ld;
    for (size_t k = threadIdx.x; k < ld; k += blockDim.x) {
      int v = 0;
      if (k < in) {
        float t = __fmul_rn(row[k], inv);
        t = t == t ? t : 0.0f;  // NaN (0 x inf, or a NaN input) -> 0
        t = fminf(fmaxf(t, -127.0f), 127.0f);
        v = __float2int_rn(t);  // half to even
      }
      out[k] = int8_t(v);
    }
    if (threadIdx.x == 0) scales[r] = amax_bits == 0 ? 0.0f : __fdiv_rn(amax, 127.0f);
  }
}

__global__ void int8_gemm_kernel(const int8_t* q, const int8_t* w, size_t rows, size_t m, size_t depth, int32_t* sums) {
  const size_t n = size_t(blockIdx.x) * kTile + threadIdx.x;
  for (size_t r = size_t(blockIdx.y) * kTile + threadIdx.y; r < rows; r += size_t(gridDim.y) * kTile) {
    if (n >= m) continue;
    const int* a = reinterpret_cast<const int*>(q + r * depth);
    const int* b = reinterpret_cast<const int*>(w + n * depth);
    int acc = 0;
    for (size_t k = 0; k < depth / 4; ++k) acc = __dp4a(a[k], b[k], acc);
    sums[r * m + n] = acc;
  }
}

__global__ void int8_epilogue_kernel(Int8Epilogue e, size_t cols, size_t n, float* y, size_t y_stride) {
  const bool erf_form = e.form == format::Gelu::kErf;
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const size_t r = i / cols, c = i % cols;
    float v = __fmul_rn(float(e.sums[r * e.sums_ld + c]), __fmul_rn(e.x_scales[r], e.w_scales[c]));
    if (e.bias != nullptr) v = __fadd_rn(v, e.bias[c]);
    if (e.gelu) v = gelu(v, erf_form);
    if (e.residual != nullptr) v = __fadd_rn(e.residual[r * e.residual_stride + c], v);
    y[r * y_stride + c] = v;
  }
}

}  // namespace

void to_half(const float* x, size_t x_stride, size_t rows, size_t in, uint16_t* half, size_t ld, cudaStream_t stream) {
  const size_t n = rows * ld;
  if (n == 0) return;
  to_half_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, x_stride, in, half, ld, n);
  check_launch("to_half kernel");
}

void quantize_rows(const float* x, size_t x_stride, size_t rows, size_t in, int8_t* q, size_t ld, float* scales,
                   cudaStream_t stream) {
  if (rows == 0) return;
  const unsigned blocks = unsigned(rows < kMaxRowBlocks ? rows : kMaxRowBlocks);
  quantize_rows_kernel<<<blocks, kRowThreads, 0, stream>>>(x, x_stride, rows, in, q, ld, scales);
  check_launch("quantize_rows kernel");
}

void int8_gemm(const int8_t* q, const int8_t* w, size_t rows, size_t m, size_t depth, int32_t* sums,
               cudaStream_t stream) {
  if (rows == 0 || m == 0) return;
  const size_t row_tiles = (rows + kTile - 1) / kTile;
  const dim3 grid(unsigned((m + kTile - 1) / kTile), unsigned(row_tiles < kMaxRowBlocks ? row_tiles : kMaxRowBlocks));
  int8_gemm_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(q, w, rows, m, depth, sums);
  check_launch("int8_gemm kernel");
}

void int8_epilogue(const Int8Epilogue& e, size_t rows, size_t cols, float* y, size_t y_stride, cudaStream_t stream) {
  const size_t n = rows * cols;
  if (n == 0) return;
  int8_epilogue_kernel<<<blocks_for(n), kThreads, 0, stream>>>(e, cols, n, y, y_stride);
  check_launch("int8_epilogue kernel");
}

}  // namespace pfrt::cuda::kernels
