#include "cuda/linear_f16.hpp"

#include "cuda/cublas_library.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/gemm_precision.hpp"
#include "cuda/kernels_precision.hpp"

namespace pfrt::cuda {

void linear_f16(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const uint16_t* w,
                size_t w_ld, size_t out, uint16_t* half_input, float* y, size_t y_stride, cudaStream_t stream) {
  const size_t ld = f16_row_halves(in);
  kernels::to_half(x, x_stride, rows, in, half_input, ld, stream);
  // Column-major, as linear.cpp: y^T [out, rows] = (w^T)^T . x^T, w read as [in, out] (ld w_ld),
  // the half input as [in, rows] (ld ld). The handle is on `stream`.
  const float one = 1.0f, zero = 0.0f;
  check(cublas().gemm_ex(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(rows), int(in), &one, w, CUDA_R_16F, int(w_ld),
                         half_input, CUDA_R_16F, int(ld), &zero, y, CUDA_R_32F, int(y_stride), CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx(f16)");
}

}  // namespace pfrt::cuda
