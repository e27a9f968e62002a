#include "cuda/linear_int8.hpp"

#include <atomic>
#include <map>
#include <mutex>

#include "cuda/cublaslt_library.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/gemm_precision.hpp"

namespace pfrt::cuda {

namespace {

// cublasLt descriptors, destroyed with their owner.
struct Layout {
  Layout(cudaDataType type, size_t rows, size_t cols, size_t ld) {
    check(cublaslt().layout_create(&handle, type, rows, cols, int64_t(ld)), "cublasLtMatrixLayoutCreate");
  }
  ~Layout() { (void)cublaslt().layout_destroy(handle); }
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
  cublasLtMatrixLayout_t handle = nullptr;
};

struct MatmulDesc {
  MatmulDesc() {
    check(cublaslt().desc_create(&handle, CUBLAS_COMPUTE_32I, CUDA_R_32I), "cublasLtMatmulDescCreate");
    const int32_t transpose = CUBLAS_OP_T;  // A (the weights) transposed, B not: "TN"
    const cublasStatus_t set = cublaslt().desc_set(handle, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose);
    if (set != CUBLAS_STATUS_SUCCESS) (void)cublaslt().desc_destroy(handle);
    check(set, "cublasLtMatmulDescSetAttribute(TRANSA)");
  }
  ~MatmulDesc() { (void)cublaslt().desc_destroy(handle); }
  MatmulDesc(const MatmulDesc&) = delete;
  MatmulDesc& operator=(const MatmulDesc&) = delete;
  cublasLtMatmulDesc_t handle = nullptr;
};

std::atomic<uint64_t> own_gemms{0};

}  // namespace

uint64_t own_int8_gemms() { return own_gemms.load(std::memory_order_relaxed); }

cublasLtHandle_t lt_handle() {
  static std::mutex mutex;
  static std::map<int, cublasLtHandle_t> handles;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  const std::lock_guard<std::mutex> lock(mutex);
  cublasLtHandle_t& handle = handles[device];
  if (handle == nullptr) check(cublaslt().create(&handle), "cublasLtCreate");
  return handle;
}

void linear_int8(cublasLtHandle_t lt, const Int8Linear& l, kernels::Int8Epilogue epilogue, cudaStream_t stream) {
  const Int8GemmShape shape = int8_gemm_shape(l.in, l.out);
  const Int8Scratch at = int8_scratch(l.in, l.out, l.rows);
  auto* q = reinterpret_cast<int8_t*>(l.scratch);
  float* x_scales = l.scratch + at.scales;
  auto* sums = reinterpret_cast<int32_t*>(l.scratch + at.sums);
  kernels::quantize_rows(l.x, l.x_stride, l.rows, l.in, q, shape.k, x_scales, stream);

  // Column-major: sums^T [m, rows] = (w^T)^T . q^T, with w read as [k, m] and q as [k, rows],
  // both ld k; the sums' ld is m. k and m are padded (gemm_precision.hpp), so cublasLt's int8
  // rules hold for every layer.
  const MatmulDesc desc;
  const Layout a(CUDA_R_8I, shape.k, shape.m, shape.k), b(CUDA_R_8I, shape.k, l.rows, shape.k),
      c(CUDA_R_32I, shape.m, l.rows, shape.m);
  const int32_t one = 1, zero = 0;
  const cublasStatus_t status = cublaslt().matmul(lt, desc.handle, &one, l.w, a.handle, q, b.handle, &zero, sums,
                                                  c.handle, sums, c.handle, nullptr, nullptr, 0, stream);
  const bool by_cublaslt = status != CUBLAS_STATUS_NOT_SUPPORTED;
  if (by_cublaslt) {
    check(status, "cublasLtMatmul(int8)");
  } else {
    own_gemms.fetch_add(1, std::memory_order_relaxed);
    kernels::int8_gemm(q, l.w, l.rows, shape.m, shape.k, sums, stream);
  }
  epilogue.sums = sums;
  epilogue.sums_ld = shape.m;
  epilogue.x_scales = x_scales;
  epilogue.w_scales = l.w_scales;
  kernels::int8_epilogue(epilogue, l.rows, l.out, l.y, l.y_stride, stream);
}

}  // namespace pfrt::cuda
