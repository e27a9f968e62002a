// libpfrt_nccl without a GPU: pfrt_nccl_transport_create refuses bad arguments with messages that
// name them, fails with a clear error (not a crash or a hang) where there is no CUDA device, and
// the header compiles as C. The reductions themselves run on a GPU (tests/mpi: cuda_shard_check).
#include <cuda_runtime_api.h>
#include <doctest/doctest.h>

#include <string>

#include "pfrt/pfrt_nccl.hpp"
#include "support/test_models.hpp"

extern "C" int pfrt_nccl_c_id_bytes(void);  // header_as_c.c

namespace {

// The status and message of pfrt_nccl_transport_create; `out` must come back without functions
// whenever the call fails.
struct Outcome {
  pfrt_status status = PFRT_OK;
  std::string message;
};

pfrt_status never_called(void*, pfrt_shard_op, void*, size_t, char*, size_t) { return PFRT_BACKEND_ERROR; }
void never_released(void*) {}

Outcome create(const pfrt_nccl_id* id, int32_t rank, int32_t ranks, int32_t device) {
  pfrt_shard_transport t;
  t.all_reduce = &never_called;  // must be cleared on failure
  t.release = &never_released;
  Outcome o;
  o.status = pfrt_nccl_transport_create(id, rank, ranks, device, 1000, &t);
  o.message = pfrt_nccl_last_error();
  if (o.status != PFRT_OK) {
    CHECK((t.all_reduce == nullptr && t.release == nullptr));
    CHECK(t.struct_size == sizeof t);
  } else if (t.release != nullptr) {
    t.release(t.context);
  }
  return o;
}

bool has_gpu() {
  int count = 0;
  const bool found = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  (void)cudaGetLastError();
  return found;
}

}  // namespace

TEST_CASE("the NCCL transport refuses bad arguments, naming them") {
  const pfrt_nccl_id id{};
  const auto refused = [](const Outcome& o, const std::string& want) {
    CHECK(o.status == PFRT_INVALID_ARGUMENT);
    CHECK_MESSAGE(o.message.find(want) != std::string::npos, o.message);
    CHECK(o.message.rfind("pfrt_nccl_transport_create: ", 0) == 0);
  };
  refused(create(&id, 0, 0, 0), "ranks is 0, must be at least 1");
  refused(create(&id, 0, -3, 0), "ranks is -3, must be at least 1");
  refused(create(&id, 2, 2, 0), "rank 2 of 2 ranks (rank must be 0 .. ranks-1)");
  refused(create(&id, -1, 2, 0), "rank -1 of 2 ranks");
  refused(create(&id, 0, 1, -2), "cuda_device is -2, must be a device index or -1");
  refused(create(nullptr, 0, 1, 0), "id must not be null");
  CHECK(pfrt_nccl_transport_create(&id, 0, 1, 0, 0, nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(std::string(pfrt_nccl_last_error()).find("out must not be null") != std::string::npos);
  CHECK(pfrt_nccl_get_unique_id(nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(std::string(pfrt_nccl_last_error()).find("out must not be null") != std::string::npos);
}

TEST_CASE("the NCCL transport without a CUDA device is a clear error, on the C and C++ APIs") {
  if (has_gpu()) {
    MESSAGE("a CUDA device is present: a device index past the last one must be refused instead");
    int count = 0;
    REQUIRE(cudaGetDeviceCount(&count) == cudaSuccess);
    const pfrt_nccl_id id{};
    const Outcome o = create(&id, 0, 1, count);
    CHECK(o.status == PFRT_INVALID_ARGUMENT);
    CHECK_MESSAGE(o.message.find("cuda_device " + std::to_string(count) + " does not exist") != std::string::npos,
                  o.message);
    return;
  }
  const pfrt_nccl_id id{};
  for (int32_t device : {-1, 0, 5}) {
    const Outcome o = create(&id, 0, 2, device);
    CHECK(o.status == PFRT_BACKEND_ERROR);
    CHECK_MESSAGE(o.message.rfind("pfrt_nccl_transport_create: no CUDA device: cudaGetDeviceCount failed: ", 0) == 0,
                  o.message);
  }
  std::string what;
  try {
    pfrt::nccl::transport(id, 1, 2);
  } catch (const pfrt::Error& e) {
    CHECK(e.status() == PFRT_BACKEND_ERROR);
    what = e.what();
  }
  CHECK_MESSAGE(what.find("no CUDA device") != std::string::npos, what);
}

TEST_CASE("a transport that failed to be made fails the sharded session with a message, not a crash") {
  const pfrt::Model model = [] {
    const std::vector<uint8_t> bytes = pfrt::test::model_bytes(pfrt::test::tiny_config(), 3);
    return pfrt::Model::from_buffer(bytes.data(), bytes.size());
  }();
  const pfrt_nccl_id id{};
  pfrt_shard_transport t;
  REQUIRE(pfrt_nccl_transport_create(&id, 5, 2, 0, 0, &t) == PFRT_INVALID_ARGUMENT);
  pfrt_session* session = nullptr;
  CHECK(pfrt_session_create_sharded(model.get(), nullptr, &t, &session) == PFRT_INVALID_ARGUMENT);
  CHECK(session == nullptr);
  CHECK(std::string(pfrt_last_error()).find("all_reduce must not be null") != std::string::npos);
}

TEST_CASE("pfrt_nccl.h compiles as C") {
  CHECK(pfrt_nccl_c_id_bytes() == PFRT_NCCL_ID_BYTES);
  CHECK(sizeof(pfrt_nccl_id) == 128);
}
