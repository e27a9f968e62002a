// A shared library opened with dlopen on first use and never unloaded (handles made through it
// live until the process ends), and the lookup of its functions by name: how the cuda backend
// loads cuBLAS and cublasLt (cublas_library.hpp says why they are not linked).
#pragma once

#include <string>

// "13" from 13: the toolkit's major version in a library's file name.
#define PFRT_CUDA_STRINGIFY_(x) #x
#define PFRT_CUDA_STRINGIFY(x) PFRT_CUDA_STRINGIFY_(x)

namespace pfrt::cuda {

class DynamicLibrary {
 public:
  // Opens `file`, the library of `product` ("cuBLAS of CUDA 13"); on failure error() says so,
  // with the loader's message and what to install.
  DynamicLibrary(const char* file, const std::string& product);

  // Sets `out` to the function `symbol`; once one is missing (or the file did not open), error()
  // names it and later lookups do nothing.
  template <typename Function>
  void resolve(const char* symbol, Function& out) {
    if (void* address = lookup(symbol)) out = reinterpret_cast<Function>(address);
  }

  // Empty when the library and every function asked for were found.
  const std::string& error() const { return error_; }

 private:
  void* lookup(const char* symbol);

  std::string file_, product_;
  void* handle_ = nullptr;
  std::string error_;
};

// A library's functions as loaded: valid when `error` is empty, else what went wrong.
template <class Functions>
struct LoadedFunctions {
  Functions functions{};
  std::string error;
};

// Opens `file` and lets resolve(library, functions) look its functions up.
template <class Functions, class Resolve>
LoadedFunctions<Functions> load_functions(const char* file, const std::string& product, Resolve&& resolve) {
  DynamicLibrary library(file, product);
  LoadedFunctions<Functions> loaded;
  resolve(library, loaded.functions);
  loaded.error = library.error();
  return loaded;
}

}  // namespace pfrt::cuda
