// The cuda backend's host side, which needs no GPU: its execution plan and kernel limits, graph
// bookkeeping, the weights' device layout and cache, CUDA/cuBLAS error reporting, and the
// clear error a session on the cuda backend gives where there is no GPU.
#include <doctest/doctest.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "cuda/cublas_library.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_plan.hpp"
#include "cuda/device_weights.hpp"
#include "cuda/graph_book.hpp"
#include "error.hpp"
#include "format/model_spec.hpp"
#include "model/model.hpp"
#include "pfrt/pfrt.h"
#include "support/test_models.hpp"

using namespace pfrt;
using cuda::GraphBook;
using Step = cuda::GraphBook::Step;

namespace {

std::string error_message(const std::function<void()>& f, pfrt_status* status = nullptr) {
  try {
    f();
  } catch (const core::Error& e) {
    if (status) *status = e.status();
    return e.what();
  }
  return "(no error)";
}

std::shared_ptr<const core::Model> model_of(const format::ModelConfig& c, uint32_t seed = 1) {
  const auto bytes = test::model_bytes(c, seed);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("PFRT_CUDA_STREAMS is parsed strictly") {
  CHECK(cuda::parse_stream_count(nullptr) == cuda::kDefaultMaxStreams);
  CHECK(cuda::parse_stream_count("") == cuda::kDefaultMaxStreams);
  CHECK(cuda::parse_stream_count("1") == 1);
  CHECK(cuda::parse_stream_count("64") == 64);
  for (const char* bad : {"0", "65", "-1", "abc", "4x", " 4", "99999999999999999999"}) {
    CAPTURE(bad);
    pfrt_status status = PFRT_OK;
    const std::string message = error_message([&] { cuda::parse_stream_count(bad); }, &status);
    CHECK(status == PFRT_INVALID_ARGUMENT);
    CHECK(message == std::string("PFRT_CUDA_STREAMS must be a whole number of streams from 1 to 64, got '") + bad +
                         "'");
  }
}

TEST_CASE("the cuda session runs the shared plan: the class-row saving, the cpu's operation count, one stream per branch at most") {
  for (const auto pooling : {format::Pooling::kCls, format::Pooling::kMean}) {
    format::ModelConfig c = test::deit_tiny_config(12, 2);
    c.pooling = pooling;
    const plan::ExecutionPlan p = cuda::session_plan(c, 2, 8);
    const format::OperationCount want = format::operation_count(c);
    CHECK(p.operation_count().per_branch == want.per_branch);
    CHECK(p.operation_count().total(c.branches) == want.total(c.branches));
    CHECK(p.slots() == 8);
    CHECK(p.threads().slot_threads == std::vector<uint32_t>(8, 1));
    CHECK(p.batch() == 2);
    // No backend scratch: the cuda attention keeps its scores in shared memory.
    for (const plan::Stage& s : p.branch()) CHECK(!s.has_scratch);
  }
  CHECK(cuda::session_plan(test::tiny_config(), 1, 8).slots() == 2);  // never more streams than branches
  CHECK(cuda::session_plan(test::tiny_config(), 1, 1).slots() == 1);
}

TEST_CASE("models whose attention rows do not fit shared memory are refused with the reason") {
  format::ModelConfig c = test::tiny_config();
  CHECK(cuda::unsupported_reason(c).empty());
  CHECK(cuda::attention_shared_bytes(c) == (8 + 17) * sizeof(float));
  c.image_size = 1024;
  c.patch_size = 8;  // 16385 tokens
  const std::string why = cuda::unsupported_reason(c);
  CHECK(why.find("16385 tokens") != std::string::npos);
  CHECK(why.find("48 KiB") != std::string::npos);
  CHECK(why.find("at most 12280 tokens") != std::string::npos);
}

TEST_CASE("the largest batch keeps every GEMM dimension within cuBLAS's int range") {
  format::ModelConfig c = test::tiny_config();
  CHECK(cuda::max_batch(c) == 65535);  // bounded by the attention grid
  c.image_size = 1024;
  c.patch_size = 8;
  c.mlp_dim = 16384;
  const size_t most = cuda::max_batch(c);
  CHECK(most >= 1);
  CHECK(most * c.tokens() * size_t{c.mlp_dim} <= size_t{INT_MAX});
  CHECK((most + 1) * c.tokens() * size_t{c.mlp_dim} > size_t{INT_MAX});
}

TEST_CASE("a (batch, prefix) is warmed up, then captured, then replayed") {
  GraphBook book(2);
  const cuda::GraphKey a{1, 4}, b{2, 4}, c{1, 2};
  GraphBook::Decision d = book.decide(a);
  CHECK(d.step == Step::kWarmUp);
  CHECK_FALSE(d.evict);
  d = book.decide(a);
  CHECK(d.step == Step::kCapture);
  const size_t slot_a = d.slot;
  CHECK(book.holds_graph(slot_a));
  d = book.decide(a);
  CHECK(d.step == Step::kReplay);
  CHECK(d.slot == slot_a);

  // A new batch size: its own warm-up and capture; the first key keeps its graph.
  CHECK(book.decide(b).step == Step::kWarmUp);
  d = book.decide(b);
  CHECK(d.step == Step::kCapture);
  CHECK(d.slot != slot_a);
  CHECK(book.decide(a).step == Step::kReplay);

  // A third key evicts the least recently used graph (b's), whose owner must destroy it.
  d = book.decide(c);
  CHECK(d.step == Step::kWarmUp);
  CHECK(d.evict);
  CHECK(d.slot != slot_a);
  CHECK(book.decide(a).step == Step::kReplay);
  CHECK(book.decide(b).step == Step::kWarmUp);  // b starts over (and evicts c's warm-up, no graph)

  // A failed capture starts over at capture; clear() drops everything.
  GraphBook fresh(1);
  fresh.decide(a);
  d = fresh.decide(a);
  REQUIRE(d.step == Step::kCapture);
  fresh.capture_failed(d.slot);
  CHECK_FALSE(fresh.holds_graph(d.slot));
  CHECK(fresh.decide(a).step == Step::kCapture);
  fresh.clear();
  CHECK_FALSE(fresh.holds_graph(0));
  d = fresh.decide(a);
  CHECK(d.step == Step::kWarmUp);
  CHECK_FALSE(d.evict);
}

TEST_CASE("the device layout places every tensor once, aligned, and rebasing keeps the values") {
  for (const bool weighted_merge : {false, true}) {
    for (const bool single_head : {false, true}) {
      CAPTURE(weighted_merge);
      CAPTURE(single_head);
      format::ModelConfig c = test::tiny_config();
      c.branches = 3;
      c.blocks_per_branch = 2;
      if (weighted_merge) c.merge_weights = {0.5f, -1.25f, 2.0f};
      if (single_head) {  // no output projection: those tensors are absent
        c.heads = 1;
        c.head_dim = c.embed_dim;
      }
      const auto model = model_of(c, 11);
      const cuda::WeightLayout layout = cuda::layout_weights(*model);
      const size_t per_block = single_head ? 9 : 11;
      CHECK(layout.pieces.size() == 4 + 3 * 2 * per_block + 4 + (weighted_merge ? 1 : 0));
      size_t end = 0, floats = 0;
      for (const auto& p : layout.pieces) {
        CHECK(p.offset % cuda::kWeightAlignFloats == 0);
        CHECK(p.offset >= end);  // ascending, no overlap
        end = p.offset + p.floats;
        floats += p.floats;
      }
      CHECK(end <= layout.total_floats);
      CHECK(floats == model->parameter_count() + (weighted_merge ? 3 : 0));

      // "Upload" into host memory and check every rebased tensor against the model's.
      std::vector<float> blob(layout.total_floats, 0.0f);
      for (const auto& p : layout.pieces) std::copy(p.host, p.host + p.floats, blob.begin() + long(p.offset));
      const core::ModelWeights moved = cuda::rebase_weights(*model, layout, blob.data());
      const core::ModelWeights& w = model->weights();
      auto same = [](const float* a, const float* b, size_t n) { return std::equal(a, a + n, b); };
      const size_t d = c.embed_dim;
      CHECK(same(moved.patch_weight, w.patch_weight, d * c.patch_dim()));
      CHECK(same(moved.pos_embedding, w.pos_embedding, c.tokens() * d));
      CHECK(same(moved.head_weight, w.head_weight, c.classes * d));
      CHECK(same(moved.head_bias, w.head_bias, c.classes));
      for (uint32_t b = 0; b < c.branches; ++b) {
        for (uint32_t k = 0; k < c.blocks_per_branch; ++k) {
          const core::BlockWeights& mb = moved.branches[b][k];
          const core::BlockWeights& hb = w.branches[b][k];
          CHECK(same(mb.qkv_weight, hb.qkv_weight, 3 * c.inner_dim() * d));
          CHECK(same(mb.fc2_weight, hb.fc2_weight, d * c.mlp_dim));
          CHECK(same(mb.mlp_norm_bias, hb.mlp_norm_bias, d));
          CHECK((mb.out_weight == nullptr) == single_head);
          if (!single_head) CHECK(same(mb.out_bias, hb.out_bias, d));
          CHECK(mb.qkv_weight >= blob.data());
          CHECK(mb.qkv_weight < blob.data() + blob.size());
        }
      }
      if (weighted_merge) {
        CHECK(same(blob.data() + layout.pieces.back().offset, c.merge_weights.data(), 3));
      }
    }
  }
}

TEST_CASE("CUDA and cuBLAS failures become pfrt errors with the library's message") {
  CHECK_NOTHROW(cuda::check(cudaSuccess, "cudaMalloc(x)"));
  CHECK_NOTHROW(cuda::check(CUBLAS_STATUS_SUCCESS, "cublasSgemm"));
  pfrt_status status = PFRT_OK;
  std::string message = error_message([] { cuda::check(cudaErrorMemoryAllocation, "cudaMalloc(weights)"); }, &status);
  CHECK(status == PFRT_OUT_OF_MEMORY);
  CHECK(message == std::string("cuda: cudaMalloc(weights): ") + cudaGetErrorString(cudaErrorMemoryAllocation) +
                       " (cudaErrorMemoryAllocation)");
  message = error_message([] { cuda::check(cudaErrorInvalidValue, "cudaMemcpyAsync(input)"); }, &status);
  CHECK(status == PFRT_BACKEND_ERROR);
  CHECK(message.find("cudaMemcpyAsync(input): ") == 6);
  CHECK(message.find("(cudaErrorInvalidValue)") != std::string::npos);
  message = error_message([] { cuda::check(CUBLAS_STATUS_INVALID_VALUE, "cublasSgemm"); }, &status);
  CHECK(status == PFRT_BACKEND_ERROR);
  CHECK(message == "cuda: cublasSgemm: an argument is out of range (CUBLAS_STATUS_INVALID_VALUE)");
  message = error_message([] { cuda::check(CUBLAS_STATUS_ALLOC_FAILED, "cublasCreate"); }, &status);
  CHECK(status == PFRT_OUT_OF_MEMORY);
  CHECK(std::string(cuda::cublas_status_name(CUBLAS_STATUS_NOT_INITIALIZED)) == "CUBLAS_STATUS_NOT_INITIALIZED");
}

TEST_CASE("the cuda backend is listed between the CPU backends and the reference") {
  std::vector<std::string> names;
  for (size_t i = 0; pfrt_backend_name(i) != nullptr; ++i) names.push_back(pfrt_backend_name(i));
  const auto cuda_at = std::find(names.begin(), names.end(), "cuda");
  REQUIRE(cuda_at != names.end());
  CHECK(std::find(cuda_at, names.end(), "reference") != names.end());
  const auto cpu_at = std::find(names.begin(), names.end(), "cpu");
  if (cpu_at != names.end()) CHECK(cpu_at < cuda_at);
}

TEST_CASE("asking for the cuda backend without a usable GPU is a clear error") {
  const std::string why = core::cuda_backend().unavailable_reason();
  test::TempDir dir;
  const std::string path = dir.write("m.pfrt", test::model_bytes(test::tiny_config()));
  pfrt_model* model = nullptr;
  REQUIRE(pfrt_model_open(path.c_str(), &model) == PFRT_OK);
  pfrt_session_options options;
  pfrt_session_options_init(&options);
  options.backend = "cuda";
  pfrt_session* session = nullptr;
  const pfrt_status status = pfrt_session_create(model, &options, &session);
  if (why.empty()) {  // a GPU is present: the session must work
    MESSAGE("a CUDA device is present: checking that a cuda session is created");
    CHECK(status == PFRT_OK);
    CHECK(std::string(pfrt_session_get_backend(session)) == "cuda");
  } else {
    CHECK(why.rfind("no CUDA device: ", 0) == 0);
    CHECK(why.size() > std::string("no CUDA device: ").size());
    CHECK(status == PFRT_BACKEND_ERROR);
    CHECK(session == nullptr);
    CHECK(std::string(pfrt_last_error()) == "backend 'cuda' cannot run here: " + why);
    CHECK(pfrt_backend_check("cuda") == PFRT_BACKEND_ERROR);
    CHECK(std::string(pfrt_last_error()) == "backend 'cuda' cannot run here: " + why);
    // The default backend skips it and still runs.
    REQUIRE(pfrt_session_create(model, nullptr, &session) == PFRT_OK);
    CHECK(std::string(pfrt_session_get_backend(session)) != "cuda");
  }
  pfrt_session_destroy(session);
  pfrt_model_close(model);
}

TEST_CASE("cuBLAS is loaded on first use, not at process start") {
  // Linked, it would be resident (~215 MiB) in every process that uses pfrt, GPU or not.
  const std::string name = cuda::cublas_library_name();
  CHECK(name.rfind("libcublas.so.", 0) == 0);
  CHECK(::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD) == nullptr);
  // Loading needs the library, not a GPU.
  const cuda::CublasLibrary& blas = cuda::cublas();
  const bool resolved = blas.create != nullptr && blas.destroy != nullptr && blas.sgemm != nullptr;
  CHECK(resolved);
  void* loaded = ::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD);
  CHECK(loaded != nullptr);
  if (loaded) ::dlclose(loaded);  // drops only the reference NOLOAD took
}
