// The cuda backend's host side, which needs no GPU: its execution plan and kernel limits, graph
// bookkeeping, the weights' device layout and cache, CUDA/cuBLAS error reporting, and the
// clear error a session on the cuda backend gives where there is no GPU.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "cuda/branch_launcher.hpp"
#include "cuda/cublas_library.hpp"
#include "cuda/cublaslt_library.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_plan.hpp"
#include "cuda/cuda_resources.hpp"
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
    CHECK(message ==
          std::string("PFRT_CUDA_STREAMS must be a whole number of streams from 1 to 64, got '") + bad + "'");
  }
}

TEST_CASE(
    "the cuda session runs the shared plan: the class-row saving, the cpu's operation count, one stream per branch at "
    "most") {
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
  // 48 KiB less the block's static reduction floats (16 bytes) and the query row (32 bytes).
  CHECK(why.find("at most 12276 tokens") != std::string::npos);

  // Rows that fit the dynamic shared memory alone but not with the static part: refused.
  format::ModelConfig edge = test::tiny_config();
  edge.image_size = 110;
  edge.patch_size = 1;  // 12101 tokens
  edge.channels = 1;
  edge.head_dim = 184;  // (184 + 12101) x 4 = 49140 bytes, + 16 static > 48 KiB
  REQUIRE(cuda::attention_shared_bytes(edge) <= cuda::kSharedBytesPerBlock);
  CHECK(cuda::unsupported_reason(edge).find("12101 tokens") != std::string::npos);

  // A head too wide for even its query row: no token fits (the count does not wrap around).
  format::ModelConfig wide = test::tiny_config();
  wide.heads = 1;
  wide.head_dim = 13000;
  wide.embed_dim = 13000;
  CHECK(cuda::unsupported_reason(wide).find("at most 0 tokens") != std::string::npos);
}

TEST_CASE("cuBLAS handles: default (fp32, no TF32) math, and the workspace Hopper wants") {
  CHECK(cuda::kBlasMathMode == CUBLAS_DEFAULT_MATH);
  CHECK(cuda::blas_workspace_bytes(7) == size_t{4} << 20);
  CHECK(cuda::blas_workspace_bytes(8) == size_t{4} << 20);
  CHECK(cuda::blas_workspace_bytes(9) == size_t{32} << 20);
  CHECK(cuda::blas_workspace_bytes(10) == size_t{32} << 20);
}

TEST_CASE("a GPU this build has no kernels for is unavailable, with the architectures and the fix") {
  cuda::DeviceProbe none;
  none.count_error = cudaErrorInsufficientDriver;
  CHECK(cuda::unavailable_reason(none, "sm 87,80,90").rfind("no CUDA device: ", 0) == 0);
  cuda::DeviceProbe zero;
  CHECK(cuda::unavailable_reason(zero, "sm 87,80,90") == "no CUDA device: the CUDA runtime found none");
  cuda::DeviceProbe turing;
  turing.count = 1;
  turing.kernel_error = cudaErrorNoKernelImageForDevice;
  turing.name = "Tesla T4";
  turing.major = 7;
  turing.minor = 5;
  const std::string why = cuda::unavailable_reason(turing, "sm 87,80,90");
  CHECK(why ==
        "no kernels for this GPU: Tesla T4 is sm_75 and this build has kernels for sm 87,80,90 "
        "(rebuild with -DCMAKE_CUDA_ARCHITECTURES=75)");
  cuda::DeviceProbe orin = turing;
  orin.kernel_error = cudaSuccess;
  CHECK(cuda::unavailable_reason(orin, "sm 87,80,90").empty());
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

TEST_CASE("asking for the cuda backend without a usable GPU is a clear error, for models of every precision") {
  const std::string why = core::cuda_backend().unavailable_reason();
  // f16 and int8 models too: refused for want of a GPU, never as an unsupported precision.
  for (const format::Precision precision :
       {format::Precision::kF32, format::Precision::kF16, format::Precision::kInt8}) {
    CAPTURE(format::to_string(precision));
    format::ModelConfig config = test::tiny_config();
    config.quantization = format::Quantization::of(precision);
    test::TempDir dir;
    const std::string path = dir.write("m.pfrt", test::model_bytes(config));
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
}

namespace {

// The check of the test below, in a process where nothing loaded cuBLAS yet.
int cublas_lazy_check() {
  const std::string name = cuda::cublas_library_name();
  if (name.rfind("libcublas.so.", 0) != 0) return 2;
  // Neither cuBLAS nor cublasLt loaded at start.
  if (::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD) != nullptr) return 3;
  if (::dlopen(cuda::cublaslt_library_name(), RTLD_NOW | RTLD_NOLOAD) != nullptr) return 6;
  // Loading needs the library, not a GPU.
  const cuda::CublasLibrary& blas = cuda::cublas();
  if (blas.create == nullptr || blas.destroy == nullptr || blas.sgemm == nullptr) return 4;
  void* loaded = ::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (loaded == nullptr) return 5;
  ::dlclose(loaded);  // drops only the reference NOLOAD took
  return 0;
}

}  // namespace

TEST_CASE("cuBLAS is loaded on first use, not at process start") {
  // Linked, it would be resident (~215 MiB) in every process that uses pfrt, GPU or not. Run
  // in a fresh copy of this test program: an earlier test of this process may have loaded it.
  if (std::getenv("PFRT_CUBLAS_LAZY_CHECK") != nullptr) std::_Exit(cublas_lazy_check());
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::setenv("PFRT_CUBLAS_LAZY_CHECK", "1", 1);
    ::execl("/proc/self/exe", "pfrt_cuda_host_tests", "--test-case=cuBLAS is loaded on first use, not at process start",
            static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  // 3, 6: cuBLAS or cublasLt loaded at process start; 4, 5: not loaded or incomplete on first use.
  CHECK(WEXITSTATUS(status) == 0);
}

namespace {

// A simulated GPU for launch_branches: every branch takes `branch_ms` on its stream (branch b
// on stream b mod S), streams run at once, a launch queues behind what its stream still runs.
class SimulatedGpu final : public cuda::BranchQueue {
 public:
  using Clock = std::chrono::steady_clock;
  SimulatedGpu(uint32_t streams, double branch_ms) : streams_(streams), branch_(branch_ms), free_at_(streams) {}

  void launch(uint32_t b) override {
    const Clock::time_point now = Clock::now();
    Clock::time_point& free = free_at_[b % streams_];
    const Clock::time_point start = std::max(now, free);
    free = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(branch_));
    done_at_.resize(std::max<size_t>(done_at_.size(), b + 1));
    done_at_[b] = free;
    // This stream's unfinished branches now, this one included: launch_branches launches a
    // branch only once the one before it on its stream has finished, so never more than 1.
    uint32_t queued = 0;
    for (uint32_t x = b % streams_; x <= b; x += streams_) queued += done_at_[x] > now ? 1 : 0;
    most_queued_ = std::max(most_queued_, queued);
  }
  bool finished(uint32_t b) override { return b < done_at_.size() && Clock::now() >= done_at_[b]; }
  void pause() override { std::this_thread::sleep_for(std::chrono::microseconds(100)); }

  uint32_t most_queued() const { return most_queued_; }

 private:
  uint32_t streams_;
  double branch_;
  std::vector<Clock::time_point> free_at_, done_at_;
  uint32_t most_queued_ = 0;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("under a deadline, branches are launched one per stream at a time and the run answers at the deadline") {
  // 12 branches of 20 ms on 2 streams: 120 ms in all. A deadline at 50 ms finds branches 0..3
  // finished (at 20 and 40 ms) and 4, 5 running; nothing else was launched.
  SimulatedGpu gpu(2, 20.0);
  core::RunControl control;
  const auto start = std::chrono::steady_clock::now();
  control.deadline = start + std::chrono::milliseconds(50);
  const cuda::LaunchOutcome out = cuda::launch_branches(gpu, 12, 2, control);
  const double took = ms_since(start);
  CHECK(out.stopped == core::StopReason::kDeadline);
  CHECK(took < 90.0);                     // at the deadline (50 ms), not at the end of all branches (120 ms)
  CHECK(out.launched <= out.prefix + 2);  // at most one branch per stream left running
  CHECK(out.prefix >= 2);
  CHECK(out.prefix <= 4);
  CHECK(gpu.most_queued() == 1);  // never a second branch queued behind a running one
}

TEST_CASE("without a deadline every branch is launched and the run answers when all finished") {
  SimulatedGpu gpu(3, 2.0);
  const core::RunControl control;
  const auto start = std::chrono::steady_clock::now();
  const cuda::LaunchOutcome out = cuda::launch_branches(gpu, 7, 3, control);
  CHECK(out.stopped == core::StopReason::kNone);
  CHECK(out.launched == 7);
  CHECK(out.prefix == 7);
  CHECK(ms_since(start) >= 5.9);  // three rounds of 2 ms on 3 streams
  CHECK(gpu.most_queued() == 1);
}

TEST_CASE("a cancel stops launching at once") {
  SimulatedGpu gpu(1, 20.0);
  std::atomic<bool> cancel{false};
  core::RunControl control;
  control.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    cancel.store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  const cuda::LaunchOutcome out = cuda::launch_branches(gpu, 10, 1, control);
  canceller.join();
  CHECK(out.stopped == core::StopReason::kCancelled);
  CHECK(ms_since(start) < 100.0);  // not the 200 ms of all branches
  CHECK(out.launched <= out.prefix + 1);
}

namespace {

// A GPU whose branches finish the moment they are launched, recording what was launched.
class RecordingGpu final : public cuda::BranchQueue {
 public:
  void launch(uint32_t b) override { launched.push_back(b); }
  bool finished(uint32_t b) override { return std::find(launched.begin(), launched.end(), b) != launched.end(); }
  void pause() override {}
  std::vector<uint32_t> launched;
};

}  // namespace

TEST_CASE("a sharded cuda session launches its own branches of the prefix, in order") {
  // Rank 1 of 3 owns branches 1, 4, 7, ...: a prefix of 8 is its branches 1, 4 and 7.
  const plan::Shard shard{1, 3};
  RecordingGpu gpu;
  cuda::ShardQueue owned(gpu, shard);
  std::vector<uint32_t> hooked;  // the RunControl's hook is told the model's branch numbers too
  core::RunControl control;
  control.hook_context = &hooked;
  control.on_branch_start = [](uint32_t b, void* context) {
    static_cast<std::vector<uint32_t>*>(context)->push_back(b);
  };
  const cuda::LaunchOutcome out = cuda::launch_branches(owned, shard.owned_below(8), 2, control);
  CHECK(gpu.launched == std::vector<uint32_t>{1, 4, 7});
  CHECK(hooked == gpu.launched);
  CHECK(out.launched == 3);
  CHECK(out.prefix == 3);  // of the shard's branches: all three finished
}

TEST_CASE("a sharded cuda session's plan has streams for its own branches, the i-th on stream i mod S") {
  format::ModelConfig c = test::tiny_config();
  c.branches = 7;
  const plan::ExecutionPlan p = cuda::session_plan(c, 1, 2, plan::Shard{1, 2});  // owns 1, 3, 5
  CHECK(p.slots() == 2);
  CHECK(p.queued_slot(1) == 0);
  CHECK(p.queued_slot(3) == 1);
  CHECK(p.queued_slot(5) == 0);
  CHECK(cuda::session_plan(c, 1, 8, plan::Shard{2, 3}).slots() == 2);  // owns 2 and 5: two streams
  const plan::ExecutionPlan whole = cuda::session_plan(c, 1, 3);
  for (uint32_t b = 0; b < 7; ++b) CHECK(whole.queued_slot(b) == b % 3);  // unsharded: branch b on b mod S
}
