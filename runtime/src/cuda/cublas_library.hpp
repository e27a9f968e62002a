// cuBLAS, loaded when the first cuda session is made instead of linked: linking libcublas
// (and the libcublasLt it pulls in) costs every process ~215 MiB of resident memory at start,
// GPU or not, which a CPU-only user of pfrt on a machine with CUDA should never pay. The
// functions the backend calls are looked up once, by the names cublas_v2.h maps them to.
#pragma once

#include <cublas_v2.h>

namespace pfrt::cuda {

struct CublasLibrary {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetPointerMode_v2) set_pointer_mode;
  decltype(&cublasSgemm_v2) sgemm;
  // f16 GEMMs (linear_f16.hpp); the library's function (cublas_api.h overloads the name for C++).
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
};

// The library's file name for this toolkit's major version ("libcublas.so.13").
const char* cublas_library_name();

// Loads cuBLAS on first use (thread-safe) and returns its functions; throws a pfrt error
// (PFRT_BACKEND_ERROR) naming the library and the loader's message when it cannot be loaded
// or lacks a function.
const CublasLibrary& cublas();

}  // namespace pfrt::cuda
