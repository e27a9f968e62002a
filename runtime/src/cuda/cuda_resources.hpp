// Owners of CUDA objects (device and pinned host memory, streams, events, cuBLAS handles,
// graphs), each freed exactly once. Destructors cannot report errors and ignore them.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "cuda/cublas_library.hpp"
#include "cuda/cuda_check.hpp"

namespace pfrt::cuda {

// A handle plus the function that releases it.
template <class T, cudaError_t (*Release)(T)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T handle) : handle_(handle) {}
  ~Owned() { reset(); }
  Owned(Owned&& o) noexcept : handle_(std::exchange(o.handle_, T{})) {}
  Owned& operator=(Owned&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = std::exchange(o.handle_, T{});
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != T{}; }
  void reset() {
    if (handle_ != T{}) (void)Release(std::exchange(handle_, T{}));
  }

 private:
  T handle_{};
};

using Stream = Owned<cudaStream_t, cudaStreamDestroy>;
using Event = Owned<cudaEvent_t, cudaEventDestroy>;
using GraphExec = Owned<cudaGraphExec_t, cudaGraphExecDestroy>;
using Graph = Owned<cudaGraph_t, cudaGraphDestroy>;

inline Stream make_stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return Stream(s);
}

// Events that only order streams skip timing; the profile's events keep it.
inline Event make_event(bool timing) {
  cudaEvent_t e = nullptr;
  check(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming), "cudaEventCreateWithFlags");
  return Event(e);
}

// Device memory of n floats.
class DeviceFloats {
 public:
  DeviceFloats() = default;
  explicit DeviceFloats(size_t n, const char* what) {
    void* p = nullptr;
    if (n > 0) check(cudaMalloc(&p, n * sizeof(float)), what);
    data_ = Owned<void*, cudaFree>(p);
    size_ = n;
  }
  float* get() const { return static_cast<float*>(data_.get()); }
  size_t size() const { return size_; }

 private:
  Owned<void*, cudaFree> data_;
  size_t size_ = 0;
};

// Page-locked host memory of n floats. Mapped (integrated GPUs): kernels read and write it
// through device() with no copy. Otherwise: the staging end of asynchronous copies.
class PinnedFloats {
 public:
  PinnedFloats() = default;
  PinnedFloats(size_t n, bool mapped, const char* what) {
    void* p = nullptr;
    if (n > 0) check(cudaHostAlloc(&p, n * sizeof(float), mapped ? cudaHostAllocMapped : cudaHostAllocDefault), what);
    host_ = Owned<void*, cudaFreeHost>(p);
    if (mapped && p != nullptr) check(cudaHostGetDevicePointer(&device_, p, 0), what);
  }
  float* host() const { return static_cast<float*>(host_.get()); }
  float* device() const { return static_cast<float*>(device_); }  // null unless mapped

 private:
  Owned<void*, cudaFreeHost> host_;
  void* device_ = nullptr;
};

// The math mode of every handle: cuBLAS's default, which computes fp32 GEMMs in fp32 (TF32 is
// only used when asked for), so results match the reference; the pedantic mode would also
// forbid reductions cuBLAS may pick for speed.
inline constexpr cublasMath_t kBlasMathMode = CUBLAS_DEFAULT_MATH;

// A cuBLAS handle bound to one stream, with its own workspace (blas_workspace_bytes) so that
// graph capture never makes cuBLAS allocate.
class Blas {
 public:
  Blas(cudaStream_t stream, size_t workspace_bytes)
      : workspace_(workspace_bytes / sizeof(float), "cudaMalloc(cuBLAS workspace)") {
    const CublasLibrary& blas = cublas();
    check(blas.create(&handle_), "cublasCreate");
    try {
      check(blas.set_stream(handle_, stream), "cublasSetStream");
      check(blas.set_workspace(handle_, workspace_.get(), workspace_bytes), "cublasSetWorkspace");
      check(blas.set_math_mode(handle_, kBlasMathMode), "cublasSetMathMode");
      check(blas.set_pointer_mode(handle_, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
    } catch (...) {
      blas.destroy(handle_);
      throw;
    }
  }
  ~Blas() { cublas().destroy(handle_); }
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  DeviceFloats workspace_;
  cublasHandle_t handle_ = nullptr;
};

}  // namespace pfrt::cuda
