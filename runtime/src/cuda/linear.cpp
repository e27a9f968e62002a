#include "cuda/linear.hpp"

#include "cuda/cublas_library.hpp"
#include "cuda/cuda_check.hpp"

namespace pfrt::cuda {

void linear(cublasHandle_t blas, const float* x, size_t x_stride, size_t rows, size_t in, const float* w, size_t out,
            float* y, size_t y_stride) {
  // Column-major view: y^T [out, rows] = (w^T)^T [out, in] . x^T [in, rows], where the
  // row-major w and x are, read column-major, w^T (ld = in) and x^T (ld = x_stride); y^T has
  // ld = y_stride.
  const float one = 1.0f, zero = 0.0f;
  check(cublas().sgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(rows), int(in), &one, w, int(in), x, int(x_stride),
                       &zero, y, int(y_stride)),
        "cublasSgemm");
}

}  // namespace pfrt::cuda
