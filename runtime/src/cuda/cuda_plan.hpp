// Host-side planning of a CUDA session: the execution plan it runs (plan/execution_plan.hpp:
// what runs, in which buffer, which stream runs which branch), how many streams, and whether a
// model fits the kernels. Pure functions of the model's config (no CUDA calls), so they are
// tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "format/model_spec.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cuda {

// Branch streams when PFRT_CUDA_STREAMS is not set, and the most it may ask for.
inline constexpr uint32_t kDefaultMaxStreams = 8;
inline constexpr uint32_t kMaxStreams = 64;

// The value of PFRT_CUDA_STREAMS (null or empty: the default). Throws a PFRT_INVALID_ARGUMENT
// Error naming the variable and the value when it is not an integer in 1..kMaxStreams.
uint32_t parse_stream_count(const char* text);

// The plan of a session with at most `max_streams` branch streams (one per branch at most,
// branch b on stream b mod streams) and buffers for batches up to `batch`.
plan::ExecutionPlan session_plan(const format::ModelConfig& config, size_t batch, uint32_t max_streams);

// Dynamic shared memory of one attention block: the query row and one row of scores.
size_t attention_shared_bytes(const format::ModelConfig& config);
// Shared memory a block may use without opting in on every GPU since compute capability 3.0.
inline constexpr size_t kSharedBytesPerBlock = 48 * 1024;

// Empty when the cuda backend can run a model of this config, else what it cannot do (e.g. too
// many tokens for its attention kernel).
std::string unsupported_reason(const format::ModelConfig& config);

// The largest batch one run takes: GEMM sizes fit cuBLAS's int arguments, the attention grid
// fits its limits.
size_t max_batch(const format::ModelConfig& config);

}  // namespace pfrt::cuda
