// cublasLt, loaded like cuBLAS (cublas_library.hpp: on first use, never linked): the int8
// GEMMs of int8 models (linear_int8.hpp) run through cublasLtMatmul.
#pragma once

#include <cublasLt.h>

#include "cuda/dynamic_library.hpp"

namespace pfrt::cuda {

struct CublasLtLibrary {
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtMatmulDescCreate) desc_create;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set;
  decltype(&cublasLtMatrixLayoutCreate) layout_create;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy;
  decltype(&cublasLtMatmul) matmul;
};

// The library's file name for this toolkit's major version ("libcublasLt.so.13").
const char* cublaslt_library_name();

// The functions of the library at `file` (what cublaslt() loads, with its file name), or an
// `error` naming the file and what went wrong: it does not load, or lacks a function.
using CublasLtLoad = LoadedFunctions<CublasLtLibrary>;
CublasLtLoad load_cublaslt(const char* file);

// Loads cublasLt on first use (thread-safe) and returns its functions; throws a pfrt error
// (PFRT_BACKEND_ERROR) with load_cublaslt's message when it cannot.
const CublasLtLibrary& cublaslt();

}  // namespace pfrt::cuda
