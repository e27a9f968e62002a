// The cuda backend: cuBLAS GEMMs and own kernels on one GPU, one stream per branch, the run
// captured as a CUDA graph (runtime/src/cuda/cuda_session.hpp). Built only when CMake finds
// the CUDA toolkit (cmake/PfrtCuda.cmake). This header names no CUDA type, so the
// backend-neutral registry can include it.
#pragma once

#include "backend/backend.hpp"

namespace pfrt::core {

// Sessions run on device 0 of those CUDA_VISIBLE_DEVICES shows; PFRT_CUDA_STREAMS (1..64,
// default 8) bounds the branch streams of each session.
const Backend& cuda_backend();

}  // namespace pfrt::core
