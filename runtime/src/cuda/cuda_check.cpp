#include "cuda/cuda_check.hpp"

#include "error.hpp"

namespace pfrt::cuda {

std::string cuda_message(cudaError_t error, const char* what) {
  return std::string(what) + ": " + cudaGetErrorString(error) + " (" + cudaGetErrorName(error) + ")";
}

const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

namespace {

const char* cublas_meaning(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS is not initialised (no usable GPU or driver)";
    case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS could not allocate memory";
    case CUBLAS_STATUS_INVALID_VALUE: return "an argument is out of range";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the GPU lacks a feature the call needs";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the operation is not supported";
    default: return "cuBLAS failed";
  }
}

}  // namespace

std::string cublas_message(cublasStatus_t status, const char* what) {
  return std::string(what) + ": " + cublas_meaning(status) + " (" + cublas_status_name(status) + ")";
}

void throw_cuda(cudaError_t error, const char* what) {
  const pfrt_status status = error == cudaErrorMemoryAllocation ? PFRT_OUT_OF_MEMORY : PFRT_BACKEND_ERROR;
  core::fail(status, "cuda: " + cuda_message(error, what));
}

void throw_cublas(cublasStatus_t status, const char* what) {
  core::fail(status == CUBLAS_STATUS_ALLOC_FAILED ? PFRT_OUT_OF_MEMORY : PFRT_BACKEND_ERROR,
             "cuda: " + cublas_message(status, what));
}

}  // namespace pfrt::cuda
