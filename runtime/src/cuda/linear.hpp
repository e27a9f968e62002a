// The GEMM of every nn.Linear: y [rows, out] = x [rows, in] . w^T, w [out, in] row-major as
// PyTorch stores it, through cuBLAS in fp32 (the handle's math mode forbids TF32). Bias is
// added by the kernel that follows (fused with GELU or the residual).
#pragma once

#include <cublas_v2.h>

#include <cstddef>

namespace pfrt::cuda {

void linear(cublasHandle_t blas, const float* x, size_t rows, size_t in, const float* w, size_t out, float* y);

}  // namespace pfrt::cuda
