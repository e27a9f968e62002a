#include "cuda/cublas_library.hpp"

#include <dlfcn.h>

#include <string>

#include "error.hpp"

namespace pfrt::cuda {

namespace {

#define PFRT_STRINGIFY_(x) #x
#define PFRT_STRINGIFY(x) PFRT_STRINGIFY_(x)

struct Loaded {
  CublasLibrary functions{};
  std::string error;  // empty when loaded
};

template <typename Function>
void resolve(void* handle, const char* symbol, Function& out, std::string& error) {
  if (!error.empty()) return;
  void* address = ::dlsym(handle, symbol);
  if (address == nullptr) {
    error = std::string(cublas_library_name()) + " has no " + symbol + " (an older cuBLAS than the " +
            "CUDA " PFRT_STRINGIFY(CUBLAS_VER_MAJOR) " pfrt was built with?)";
    return;
  }
  out = reinterpret_cast<Function>(address);
}

Loaded load() {
  Loaded loaded;
  // Never unloaded: handles and streams made through it live until the process ends.
  void* handle = ::dlopen(cublas_library_name(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    loaded.error =
        std::string("cannot load ") + cublas_library_name() + ": " + (why ? why : "unknown error") +
        " (install cuBLAS of CUDA " PFRT_STRINGIFY(CUBLAS_VER_MAJOR) " or add its folder to LD_LIBRARY_PATH)";
    return loaded;
  }
  CublasLibrary& f = loaded.functions;
  resolve(handle, "cublasCreate_v2", f.create, loaded.error);
  resolve(handle, "cublasDestroy_v2", f.destroy, loaded.error);
  resolve(handle, "cublasSetStream_v2", f.set_stream, loaded.error);
  resolve(handle, "cublasSetWorkspace_v2", f.set_workspace, loaded.error);
  resolve(handle, "cublasSetMathMode", f.set_math_mode, loaded.error);
  resolve(handle, "cublasSetPointerMode_v2", f.set_pointer_mode, loaded.error);
  resolve(handle, "cublasSgemm_v2", f.sgemm, loaded.error);
  return loaded;
}

}  // namespace

const char* cublas_library_name() { return "libcublas.so." PFRT_STRINGIFY(CUBLAS_VER_MAJOR); }

const CublasLibrary& cublas() {
  static const Loaded loaded = load();
  if (!loaded.error.empty()) core::fail(PFRT_BACKEND_ERROR, "cuda backend: " + loaded.error);
  return loaded.functions;
}

}  // namespace pfrt::cuda
