#include "cuda/cublaslt_library.hpp"

#include "cuda/dynamic_library.hpp"
#include "error.hpp"

namespace pfrt::cuda {

const char* cublaslt_library_name() { return "libcublasLt.so." PFRT_CUDA_STRINGIFY(CUBLAS_VER_MAJOR); }

CublasLtLoad load_cublaslt(const char* file) {
  return load_functions<CublasLtLibrary>(file, "cublasLt of CUDA " PFRT_CUDA_STRINGIFY(CUBLAS_VER_MAJOR),
                                         [](DynamicLibrary& library, CublasLtLibrary& f) {
                                           library.resolve("cublasLtCreate", f.create);
                                           library.resolve("cublasLtMatmulDescCreate", f.desc_create);
                                           library.resolve("cublasLtMatmulDescDestroy", f.desc_destroy);
                                           library.resolve("cublasLtMatmulDescSetAttribute", f.desc_set);
                                           library.resolve("cublasLtMatrixLayoutCreate", f.layout_create);
                                           library.resolve("cublasLtMatrixLayoutDestroy", f.layout_destroy);
                                           library.resolve("cublasLtMatmul", f.matmul);
                                         });
}

const CublasLtLibrary& cublaslt() {
  static const CublasLtLoad loaded = load_cublaslt(cublaslt_library_name());
  if (!loaded.error.empty()) core::fail(PFRT_BACKEND_ERROR, "cuda backend: " + loaded.error);
  return loaded.functions;
}

}  // namespace pfrt::cuda
