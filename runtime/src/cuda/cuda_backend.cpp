#include "cuda/cuda_backend.hpp"

#include <cuda_runtime_api.h>

#include <cstdlib>

#include "cuda/cuda_plan.hpp"
#include "cuda/cuda_session.hpp"

namespace pfrt::core {

namespace {

// Why no session can run here, or empty. Asked once: devices do not come and go.
std::string probe_devices() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    (void)cudaGetLastError();  // clear it from this thread
    return std::string("no CUDA device: ") + cudaGetErrorString(error);
  }
  if (count == 0) return "no CUDA device: the CUDA runtime found none";
  return {};
}

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

  std::string unavailable_reason() const override {
    static const std::string reason = probe_devices();
    return reason;
  }

  std::unique_ptr<BackendSession> create_session(std::shared_ptr<const Model> model,
                                                 const BackendOptions&) const override {
    cuda::CudaSessionOptions options;
    options.max_streams = cuda::parse_stream_count(std::getenv("PFRT_CUDA_STREAMS"));
    return std::make_unique<cuda::CudaSession>(std::move(model), options);
  }
};

}  // namespace

const Backend& cuda_backend() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace pfrt::core
