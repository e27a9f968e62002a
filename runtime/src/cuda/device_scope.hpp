// Two rules every cuda-backend call on a device follows.
//
// The caller's current device is its own: a session makes its device current for the length
// of a call (ScopedDevice) and gives the thread back the device it had.
//
// Nothing synchronises the whole device while a graph is being captured: a device-wide
// synchronisation (implied by cudaFree, cudaFreeHost and cublasDestroy, among others) in one
// thread invalidates a capture in progress in another, whatever the capture mode, and leaves
// a sticky error. So captures hold the device's capture lock shared (any number at once) and
// the calls that allocate or free (session creation, growth and destruction) hold it
// exclusively.
#pragma once

#include <cuda_runtime_api.h>

#include <shared_mutex>

namespace pfrt::cuda {

class ScopedDevice {
 public:
  explicit ScopedDevice(int device);  // throws a pfrt Error when the device cannot be made current
  ~ScopedDevice();
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

 private:
  int previous_ = -1;  // -1: the thread had none set (nothing to restore)
  int device_;
};

// The capture lock of `device` (0 <= device < 64).
std::shared_mutex& capture_lock(int device);

}  // namespace pfrt::cuda
