// Host-side planning of a CUDA session: how many streams, which stream runs which branch, how
// large each device buffer is, and whether a model fits the kernels. Pure functions of the
// model's config (no CUDA calls), so they are tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "format/model_spec.hpp"

namespace pfrt::cuda {

// Branch streams when PFRT_CUDA_STREAMS is not set, and the most it may ask for.
inline constexpr uint32_t kDefaultMaxStreams = 8;
inline constexpr uint32_t kMaxStreams = 64;

// The value of PFRT_CUDA_STREAMS (null or empty: the default). Throws a PFRT_INVALID_ARGUMENT
// Error naming the variable and the value when it is not an integer in 1..kMaxStreams.
uint32_t parse_stream_count(const char* text);

// Streams a session runs its branches on: at most max_streams, at most one per branch.
uint32_t branch_stream_count(uint32_t max_streams, uint32_t branches);

// Branches go round-robin over the streams; branches that share a stream run one after the
// other in branch order, so a prefix 1..k always finishes in order on each stream.
inline uint32_t stream_of_branch(uint32_t branch, uint32_t streams) { return branch % streams; }

// Float counts of a session's device buffers for a batch.
struct BufferSizes {
  // Session-wide: the stem, the branch outputs, the merge and the head.
  size_t input = 0;       // batch x C x S x S
  size_t patches = 0;     // batch x N x (P*P*C)
  size_t projected = 0;   // batch x N x D (patch embedding before class token and positions)
  size_t x0 = 0;          // batch x T x D, the stem's output every branch reads
  size_t branch_out = 0;  // batch x T x D, one per branch
  size_t merged = 0;      // batch x T x D
  size_t pooled = 0;      // batch x D
  size_t logits = 0;      // batch x K
  // Scratch of one branch stream (branches on one stream reuse it in turn).
  size_t normed = 0;      // batch x T x D
  size_t qkv = 0;         // batch x T x 3*inner
  size_t attended = 0;    // batch x T x inner
  size_t update = 0;      // batch x T x D
  size_t hidden = 0;      // batch x T x M
  size_t stream_scratch() const { return normed + qkv + attended + update + hidden; }
};
BufferSizes buffer_sizes(const format::ModelConfig& config, size_t batch);

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
