#include "cuda/device_scope.hpp"

#include <array>
#include <string>

#include "cuda/cuda_check.hpp"
#include "error.hpp"

namespace pfrt::cuda {

ScopedDevice::ScopedDevice(int device) : device_(device) {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess) previous_ = current;
  (void)cudaGetLastError();
  if (previous_ != device_) check(cudaSetDevice(device_), "cudaSetDevice");
}

ScopedDevice::~ScopedDevice() {
  if (previous_ >= 0 && previous_ != device_) (void)cudaSetDevice(previous_);
}

std::shared_mutex& capture_lock(int device) {
  static std::array<std::shared_mutex, 64> locks;
  if (device < 0 || device >= int(locks.size())) {
    core::fail(PFRT_INVALID_ARGUMENT, "cuda device " + std::to_string(device) + " is out of range");
  }
  return locks[size_t(device)];
}

}  // namespace pfrt::cuda
