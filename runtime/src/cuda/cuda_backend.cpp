#include "cuda/cuda_backend.hpp"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <string>

#include "cuda/cuda_plan.hpp"
#include "cuda/cuda_session.hpp"
#include "cuda/device_scope.hpp"
#include "cuda/kernels.hpp"
#include "error.hpp"

#ifndef PFRT_CUDA_ARCHITECTURES
#define PFRT_CUDA_ARCHITECTURES "unknown"
#endif

namespace pfrt::core {

namespace {

// Why no session can run here, or empty. Asked once: devices do not come and go. Sessions
// run on device 0, so that is where this build's kernels must load.
std::string probe_devices() {
  cuda::DeviceProbe probe;
  probe.count_error = cudaGetDeviceCount(&probe.count);
  if (probe.count_error == cudaSuccess && probe.count > 0) {
    try {
      const cuda::ScopedDevice on_device(0);
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        probe.name = prop.name;
        probe.major = prop.major;
        probe.minor = prop.minor;
      }
      probe.kernel_error = cuda::kernels::probe();
    } catch (const Error& e) {
      return std::string("cannot use CUDA device 0: ") + e.what();
    }
  }
  (void)cudaGetLastError();  // clear it from this thread
  return cuda::unavailable_reason(probe, PFRT_CUDA_ARCHITECTURES);
}

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

  std::string unavailable_reason() const override {
    static const std::string reason = probe_devices();
    return reason;
  }

  bool shards() const override { return true; }

  std::unique_ptr<BackendSession> create_session(std::shared_ptr<const Model> model,
                                                 const BackendOptions& backend_options) const override {
    // Every precision runs: f32, f16 and int8 GEMMs (gemm_precision.hpp).
    cuda::CudaSessionOptions options;
    options.max_streams = cuda::parse_stream_count(std::getenv("PFRT_CUDA_STREAMS"));
    // A shard of a sharded session runs its branches on GPU rank mod the GPUs (as NCCL's ranks do).
    options.shard = backend_options.shard;
    int devices = 0;
    if (options.shard.ranks > 1 && cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) {
      options.device = int(options.shard.rank % uint32_t(devices));
    }
    return std::make_unique<cuda::CudaSession>(std::move(model), options);
  }
};

}  // namespace

const Backend& cuda_backend() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace pfrt::core
