// Host-side planning of a CUDA session: the execution plan it runs (plan/execution_plan.hpp:
// what runs, in which buffer, which stream runs which branch), how many streams, and whether a
// model fits the kernels. Pure functions of the model's config (no CUDA calls), so they are
// tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

#include "format/model_spec.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cuda {

// Branch streams when PFRT_CUDA_STREAMS is not set, and the most it may ask for.
inline constexpr uint32_t kDefaultMaxStreams = 8;
inline constexpr uint32_t kMaxStreams = 64;

// The value of PFRT_CUDA_STREAMS (null or empty: the default). Throws a PFRT_INVALID_ARGUMENT
// Error naming the variable and the value when it is not an integer in 1..kMaxStreams.
uint32_t parse_stream_count(const char* text);

// The plan of a session with at most `max_streams` branch streams (one per branch of `shard` at
// most, its i-th branch on stream i mod streams) and buffers for batches up to `batch`; f16 and
// int8 GEMM stages with their scratch (gemm_precision.hpp: the half or quantised input, int8's
// sums).
plan::ExecutionPlan session_plan(const format::ModelConfig& config, size_t batch, uint32_t max_streams,
                                 const plan::Shard& shard = {});

// Threads of one attention block (a multiple of the warp size), and its static shared memory:
// one float per warp for the block's reductions.
inline constexpr unsigned kAttentionThreads = 128;
inline constexpr size_t kAttentionStaticSharedBytes = kAttentionThreads / 32 * sizeof(float);
// Dynamic shared memory of one attention block: the query row and one row of scores.
size_t attention_shared_bytes(const format::ModelConfig& config);
// Shared memory a block may use without opting in on every GPU since compute capability 3.0
// (static and dynamic together).
inline constexpr size_t kSharedBytesPerBlock = 48 * 1024;

// cuBLAS workspace per handle: 32 MiB on Hopper (compute capability 9.x) and later, 4 MiB
// before (the sizes cuBLAS's documentation recommends); with its own workspace a handle never
// allocates, so graph capture stays legal.
size_t blas_workspace_bytes(int compute_major);

// Empty when the cuda backend can run a model of this config, else what it cannot do (e.g. too
// many tokens for its attention kernel).
std::string unsupported_reason(const format::ModelConfig& config);

// Why the cuda backend cannot run on the GPU this process would use, or empty when it can:
// from what the CUDA runtime said when asked for devices (error, count) and, with a device,
// whether this build's kernels load on it (the kernel probe's error) and which it is. A GPU
// for which the build has neither SASS nor PTX is unavailable, not a session error later.
struct DeviceProbe {
  cudaError_t count_error = cudaSuccess;
  int count = 0;
  cudaError_t kernel_error = cudaSuccess;
  std::string name;
  int major = 0, minor = 0;
};
std::string unavailable_reason(const DeviceProbe& probe, const char* built_architectures);

// The largest batch one run takes: GEMM sizes fit cuBLAS's int arguments, the attention grid
// fits its limits.
size_t max_batch(const format::ModelConfig& config);

}  // namespace pfrt::cuda
