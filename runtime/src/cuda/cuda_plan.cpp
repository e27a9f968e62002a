#include "cuda/cuda_plan.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "cuda/gemm_precision.hpp"
#include "error.hpp"

namespace pfrt::cuda {

uint32_t parse_stream_count(const char* text) {
  if (text == nullptr || *text == '\0') return kDefaultMaxStreams;
  const std::string value(text);
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  const bool digits_only = text[0] >= '0' && text[0] <= '9' && *end == '\0';
  if (!digits_only || n < 1 || n > long{kMaxStreams}) {
    core::fail(PFRT_INVALID_ARGUMENT, "PFRT_CUDA_STREAMS must be a whole number of streams from 1 to " +
                                          std::to_string(kMaxStreams) + ", got '" + value + "'");
  }
  return uint32_t(n);
}

plan::ExecutionPlan session_plan(const format::ModelConfig& config, size_t batch, uint32_t max_streams,
                                 const plan::Shard& shard) {
  plan::PlanOptions options;
  options.batch = batch;
  options.max_slots = std::max(1u, max_streams);
  options.shard = shard;
  if (config.quantization.precision == format::Precision::kF32) return plan::ExecutionPlan(config, options);
  // f16 and int8 GEMM stages get a scratch buffer sized by their layer, whose shape a plan
  // without the scratch gives (the layers are numbered alike in both).
  const plan::ExecutionPlan layers(config, options);
  const auto& linears = layers.linears();
  options.int8_scratch = [&linears](uint32_t layer, size_t rows) {
    return int8_scratch(linears[layer].in, linears[layer].out, rows).floats;
  };
  options.f16_scratch = [&linears](uint32_t layer, size_t rows) { return f16_scratch_floats(linears[layer].in, rows); };
  return plan::ExecutionPlan(config, options);
}

size_t attention_shared_bytes(const format::ModelConfig& c) {
  return (size_t{c.head_dim} + c.tokens()) * sizeof(float);
}

std::string unsupported_reason(const format::ModelConfig& c) {
  const size_t bytes = attention_shared_bytes(c) + kAttentionStaticSharedBytes;
  if (bytes > kSharedBytesPerBlock) {
    // Tokens that fit beside the query row and the reductions; none when the row alone is too
    // large (a head size of 12,000 or more).
    const size_t room = kSharedBytesPerBlock - kAttentionStaticSharedBytes;
    const size_t query = size_t{c.head_dim} * sizeof(float);
    const size_t most = query < room ? (room - query) / sizeof(float) : 0;
    return "the model has " + std::to_string(c.tokens()) + " tokens of head size " + std::to_string(c.head_dim) +
           "; the cuda backend's attention keeps a row of scores in " + std::to_string(kSharedBytesPerBlock / 1024) +
           " KiB of shared memory, which holds at most " + std::to_string(most) + " tokens at this head size";
  }
  return {};
}

std::string unavailable_reason(const DeviceProbe& p, const char* built_architectures) {
  if (p.count_error != cudaSuccess) {
    return std::string("no CUDA device: ") + cudaGetErrorString(p.count_error);
  }
  if (p.count == 0) return "no CUDA device: the CUDA runtime found none";
  if (p.kernel_error == cudaSuccess) return {};
  const std::string sm = std::to_string(p.major) + std::to_string(p.minor);
  if (p.kernel_error == cudaErrorNoKernelImageForDevice || p.kernel_error == cudaErrorInvalidDeviceFunction) {
    return "no kernels for this GPU: " + p.name + " is sm_" + sm + " and this build has kernels for " +
           built_architectures + " (rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + sm + ")";
  }
  return "the kernels do not load on " + p.name + " (sm_" + sm + "): " + cudaGetErrorString(p.kernel_error);
}

size_t blas_workspace_bytes(int compute_major) { return (compute_major >= 9 ? size_t{32} : size_t{4}) << 20; }

size_t max_batch(const format::ModelConfig& c) {
  // The largest GEMM row count is batch x T; the widest row is the MLP's or the QKV's.
  const size_t widest = std::max(
      {size_t{c.mlp_dim}, 3 * size_t{c.inner_dim()}, size_t{c.embed_dim}, size_t{c.patch_dim()}, size_t{c.classes}});
  // The attention grid's z dimension is the batch (at most 65535 blocks).
  return std::min<size_t>(65535, size_t{INT_MAX} / (size_t{c.tokens()} * widest));
}

}  // namespace pfrt::cuda
