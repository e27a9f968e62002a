// The GEMM of every nn.Linear: y [rows, out] = x [rows, in] . w^T, w [out, in] row-major as
// PyTorch stores it, through cuBLAS in fp32 (the handle's math mode forbids TF32); and a linear
// stage of the plan in the model's precision (gemm_precision.hpp), its epilogue included.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda/device_weights.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cuda {

// x rows x_stride floats apart, y rows y_stride apart (>= in, >= out). Bias is added by the
// kernel that follows (fused with GELU or the residual).
void linear(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const float* w, size_t out,
            float* y, size_t y_stride);

// Enqueues linear stage `s` of `plan` for branch `branch` over `rows` rows of its input (n
// images' worth), in the precision of its layer: GEMM, then bias, GELU and residual.
void enqueue_linear_stage(const plan::ExecutionPlan& plan, const plan::Stage& s, const plan::Memory& memory,
                          size_t rows, uint32_t branch, const DeviceWeights& weights, cudaStream_t stream,
                          cublasHandle_t blas);

}  // namespace pfrt::cuda
