// The GEMM of an int8 model's linear layer (gemm_precision.hpp): the input rows quantised into
// the stage's scratch, int8 x int8 -> int32 sums by cublasLtMatmul (or pfrt's own dp4a kernel
// where cublasLt refuses the shape), then the int8 epilogue kernel writes y in f32.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/kernels_precision.hpp"

namespace pfrt::cuda {

// The process's cublasLt handle for the current device, made by the first caller (while no
// other thread captures: DeviceWeights makes it for int8 models) and never destroyed.
cublasLtHandle_t lt_handle();

struct Int8Linear {
  const float* x;
  size_t x_stride;
  size_t rows, in, out;
  const int8_t* w;        // the layer's first row, ld int8_gemm_shape(in, out).k
  const float* w_scales;  // the layer's first channel's
  float* scratch;         // int8_scratch(in, out, rows).floats
  float* y;
  size_t y_stride;
};
// `epilogue`'s sums, x_scales and w_scales are filled in here; the rest (bias, GELU, residual) is
// the caller's.
void linear_int8(cublasLtHandle_t lt, const Int8Linear& l, kernels::Int8Epilogue epilogue, cudaStream_t stream);

// GEMMs this process ran in the own dp4a kernel because cublasLt refused their shape (0 where
// cublasLt took every one; the GPU tests print it).
uint64_t own_int8_gemms();

}  // namespace pfrt::cuda
