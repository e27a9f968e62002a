// The GEMM of every nn.Linear: y [rows, out] = x [rows, in] . w^T, w [out, in] row-major as
// PyTorch stores it, through cuBLAS in fp32 (the handle's math mode forbids TF32). Bias is
// added by the kernel that follows (fused with GELU or the residual).
#pragma once

#include <cublas_v2.h>

#include <cstddef>

namespace pfrt::cuda {

// x rows x_stride floats apart, y rows y_stride apart (>= in, >= out).
void linear(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const float* w, size_t out,
            float* y, size_t y_stride);

}  // namespace pfrt::cuda
