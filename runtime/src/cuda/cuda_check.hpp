// Every CUDA runtime and cuBLAS call is checked; a failure becomes a pfrt Error carrying the
// call, the library's own message and a status (PFRT_OUT_OF_MEMORY for allocations, else
// PFRT_BACKEND_ERROR), which the C API reports through pfrt_last_error.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace pfrt::cuda {

// "cudaMalloc(weights): out of memory (cudaErrorMemoryAllocation)".
std::string cuda_message(cudaError_t error, const char* what);
std::string cublas_message(cublasStatus_t status, const char* what);
// CUBLAS_STATUS_* name of a status (cublasGetStatusName is missing from older toolkits).
const char* cublas_status_name(cublasStatus_t status);

[[noreturn]] void throw_cuda(cudaError_t error, const char* what);
[[noreturn]] void throw_cublas(cublasStatus_t status, const char* what);

inline void check(cudaError_t error, const char* what) {
  if (error != cudaSuccess) throw_cuda(error, what);
}
inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas(status, what);
}
// After a kernel launch: a bad configuration shows up as the thread's last error.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace pfrt::cuda
