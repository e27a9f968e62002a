// The GEMM of an f16 model's linear layer (gemm_precision.hpp): x converted to half into
// `half_input` (the stage's scratch), then cublasGemmEx with half inputs, f32 accumulation
// (CUBLAS_COMPUTE_32F, tensor cores allowed) and f32 output: y = x . w^T, bias added after.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace pfrt::cuda {

// w: `out` rows of binary16, w_ld halves apart (its first row the layer's); half_input: rows x
// f16_row_halves(in) halves.
void linear_f16(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const uint16_t* w,
                size_t w_ld, size_t out, uint16_t* half_input, float* y, size_t y_stride, cudaStream_t stream);

}  // namespace pfrt::cuda
