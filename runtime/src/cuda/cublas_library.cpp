#include "cuda/cublas_library.hpp"

#include <string>

#include "cuda/dynamic_library.hpp"
#include "error.hpp"

namespace pfrt::cuda {

namespace {

LoadedFunctions<CublasLibrary> load() {
  return load_functions<CublasLibrary>(cublas_library_name(), "cuBLAS of CUDA " PFRT_CUDA_STRINGIFY(CUBLAS_VER_MAJOR),
                                       [](DynamicLibrary& library, CublasLibrary& f) {
                                         library.resolve("cublasCreate_v2", f.create);
                                         library.resolve("cublasDestroy_v2", f.destroy);
                                         library.resolve("cublasSetStream_v2", f.set_stream);
                                         library.resolve("cublasSetWorkspace_v2", f.set_workspace);
                                         library.resolve("cublasSetMathMode", f.set_math_mode);
                                         library.resolve("cublasSetPointerMode_v2", f.set_pointer_mode);
                                         library.resolve("cublasSgemm_v2", f.sgemm);
                                         library.resolve("cublasGemmEx", f.gemm_ex);
                                       });
}

}  // namespace

const char* cublas_library_name() { return "libcublas.so." PFRT_CUDA_STRINGIFY(CUBLAS_VER_MAJOR); }

const CublasLibrary& cublas() {
  static const LoadedFunctions<CublasLibrary> loaded = load();
  if (!loaded.error.empty()) core::fail(PFRT_BACKEND_ERROR, "cuda backend: " + loaded.error);
  return loaded.functions;
}

}  // namespace pfrt::cuda
