// libpfrt_nccl: a pfrt_shard_transport over an NCCL communicator (pfrt/pfrt_nccl.h). Uses only
// libpfrt's C API, so the runtime itself needs no NCCL.
//
// The communicator is non-blocking (ncclConfig_t.blocking = 0): NCCL calls return at once and
// what they started is polled, with ncclCommGetAsyncError for the communicator and
// cudaStreamQuery for the transport's own stream, until it completes, fails or the timeout
// passes (transport/collective_wait.hpp). Past the timeout the communicator is aborted
// (ncclCommAbort frees it and whatever it had in flight): the transport is then broken and every
// later call fails at once with the same message. Copies go through the transport's stream
// (non-blocking), so they never wait for the session's own work on the GPU.
#include "pfrt/pfrt_nccl.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "transport/collective_wait.hpp"

namespace {

static_assert(sizeof(ncclUniqueId) == PFRT_NCCL_ID_BYTES, "pfrt_nccl_id must hold an ncclUniqueId");

thread_local std::string g_last_error;

// Records `message` as this thread's last error and returns `status`.
pfrt_status failed(pfrt_status status, std::string message) {
  g_last_error = std::move(message);
  return status;
}

std::string cuda_error(cudaError_t e, const char* call) {
  return std::string(call) + " failed: " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
}

std::string nccl_error(ncclResult_t r, const char* call, ncclComm_t comm) {
  std::string text = std::string(call) + " failed: " + ncclGetErrorString(r);
  const char* detail = ncclGetLastError(comm);
  if (detail != nullptr && *detail != '\0') text += std::string(" (") + detail + ")";
  return text;
}

// Makes `device` current for its lifetime and gives the caller's back at the end.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    set_ = cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  cudaError_t status() const { return set_; }

 private:
  int previous_ = -1;
  cudaError_t set_ = cudaSuccess;
};

// One rank's link: the communicator, its stream and device buffer, and why it broke (if it did).
struct Link {
  int device = 0;
  double timeout_ms = pfrt::transport::kDefaultTimeoutMs;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void* buffer = nullptr;  // device memory for `capacity` bytes, grown as reductions need
  size_t capacity = 0;
  std::string error;  // set: every call fails with it

  // Aborts the communicator (after a timeout or an NCCL error): nothing of it is left in flight.
  void abort() {
    if (comm != nullptr) (void)ncclCommAbort(comm);
    comm = nullptr;
  }

  // Polls until the communicator's last operation (`what`) and, when `stream_too`, the stream's
  // work are done, or fail, or the timeout passes; empty, or why not (the communicator then aborted).
  std::string wait(const char* what, bool stream_too) {
    const auto done = [&](std::string& failure) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t asked = ncclCommGetAsyncError(comm, &state);
      if (asked != ncclSuccess) state = asked;
      if (state == ncclInProgress) return false;
      if (state != ncclSuccess) {
        failure = nccl_error(state, what, comm);
        return false;
      }
      const cudaError_t q = stream_too ? cudaStreamQuery(stream) : cudaSuccess;
      if (q != cudaSuccess && q != cudaErrorNotReady) failure = cuda_error(q, "cudaStreamQuery");
      return q == cudaSuccess;
    };
    std::string why = pfrt::transport::wait_for(done, timeout_ms, "PFRT_NCCL_TIMEOUT_MS");
    if (!why.empty()) abort();
    return why;
  }

  // Empty, or why the reduction of `bytes` at `data` failed.
  std::string reduce(pfrt_shard_op op, void* data, size_t count, size_t bytes) {
    if (bytes > capacity) {
      if (buffer != nullptr) (void)cudaFree(buffer);
      buffer = nullptr;
      capacity = 0;
      if (const cudaError_t e = cudaMalloc(&buffer, bytes); e != cudaSuccess) return cuda_error(e, "cudaMalloc");
      capacity = bytes;
    }
    if (const cudaError_t e = cudaMemcpyAsync(buffer, data, bytes, cudaMemcpyHostToDevice, stream); e != cudaSuccess) {
      return cuda_error(e, "cudaMemcpyAsync(to the device)");
    }
    const bool sum = op == PFRT_SHARD_SUM_F32;
    const ncclResult_t r =
        ncclAllReduce(buffer, buffer, count, sum ? ncclFloat : ncclUint64, sum ? ncclSum : ncclMin, comm, stream);
    if (r != ncclSuccess && r != ncclInProgress) {
      std::string why = nccl_error(r, "ncclAllReduce", comm);
      abort();
      return why;
    }
    if (std::string why = wait("ncclAllReduce", true); !why.empty()) return why;
    // The stream is idle: this copy does not wait for anything that may never come.
    if (const cudaError_t e = cudaMemcpyAsync(data, buffer, bytes, cudaMemcpyDeviceToHost, stream); e != cudaSuccess) {
      return cuda_error(e, "cudaMemcpyAsync(to the host)");
    }
    if (const cudaError_t e = cudaStreamSynchronize(stream); e != cudaSuccess) {
      return cuda_error(e, "cudaStreamSynchronize(to the host)");
    }
    return {};
  }

  ~Link() {
    if (comm != nullptr && error.empty()) {
      // Flushes and frees the communicator; aborted if that does not finish in time.
      const ncclResult_t r = ncclCommFinalize(comm);
      if ((r == ncclSuccess || r == ncclInProgress) && wait("ncclCommFinalize", false).empty()) {
        (void)ncclCommDestroy(comm);
        comm = nullptr;
      }
    }
    abort();
    if (buffer != nullptr) (void)cudaFree(buffer);
    if (stream != nullptr) (void)cudaStreamDestroy(stream);
  }
};

pfrt_status all_reduce(void* context, pfrt_shard_op op, void* data, size_t count, char* message, size_t message_size) {
  Link* link = static_cast<Link*>(context);
  if (link->error.empty()) {
    if (op != PFRT_SHARD_SUM_F32 && op != PFRT_SHARD_MIN_U64) {
      link->error = "unknown reduction " + std::to_string(int(op));
    } else if (count > 0) {
      const size_t bytes = count * (op == PFRT_SHARD_SUM_F32 ? sizeof(float) : sizeof(uint64_t));
      const DeviceScope on_device(link->device);
      link->error = on_device.status() != cudaSuccess ? cuda_error(on_device.status(), "cudaSetDevice")
                                                      : link->reduce(op, data, count, bytes);
    }
    if (link->error.empty()) return PFRT_OK;
  }
  std::snprintf(message, message_size, "%s", link->error.c_str());
  return PFRT_BACKEND_ERROR;
}

void release(void* context) {
  Link* link = static_cast<Link*>(context);
  const DeviceScope on_device(link->device);
  delete link;
}

// Empty when `device` is a CUDA device of this machine (-1 becomes rank mod their number), else
// why not (and the status).
std::string check_device(int32_t rank, int32_t& device, pfrt_status& status) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  status = PFRT_BACKEND_ERROR;
  if (e != cudaSuccess) return "no CUDA device: " + cuda_error(e, "cudaGetDeviceCount");
  if (count == 0) return "no CUDA device: cudaGetDeviceCount found none";
  if (device == -1) device = rank % count;
  status = PFRT_INVALID_ARGUMENT;
  if (device >= count) {
    return "cuda_device " + std::to_string(device) + " does not exist (this machine has " + std::to_string(count) +
           " CUDA device" + (count == 1 ? "" : "s") + ": 0 .. " + std::to_string(count - 1) + ")";
  }
  status = PFRT_OK;
  return {};
}

// Joins the communicator on `link->device`; empty, or why not.
std::string open_link(Link& link, const pfrt_nccl_id& id, int32_t rank, int32_t ranks) {
  const DeviceScope on_device(link.device);
  if (on_device.status() != cudaSuccess) return cuda_error(on_device.status(), "cudaSetDevice");
  if (const cudaError_t e = cudaStreamCreateWithFlags(&link.stream, cudaStreamNonBlocking); e != cudaSuccess) {
    link.stream = nullptr;
    return cuda_error(e, "cudaStreamCreateWithFlags");
  }
  ncclUniqueId unique;
  std::memcpy(unique.internal, id.bytes, sizeof unique.internal);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t r = ncclCommInitRankConfig(&link.comm, ranks, unique, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    std::string why = nccl_error(r, "ncclCommInitRankConfig", link.comm);
    link.abort();
    return why;
  }
  return link.wait("ncclCommInitRankConfig", false);
}

}  // namespace

extern "C" {

pfrt_status pfrt_nccl_get_unique_id(pfrt_nccl_id* out) {
  if (out == nullptr) return failed(PFRT_INVALID_ARGUMENT, "pfrt_nccl_get_unique_id: out must not be null");
  ncclUniqueId id;
  const ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess) return failed(PFRT_BACKEND_ERROR, nccl_error(r, "ncclGetUniqueId", nullptr));
  std::memcpy(out->bytes, id.internal, sizeof out->bytes);
  return PFRT_OK;
}

pfrt_status pfrt_nccl_transport_create(const pfrt_nccl_id* id, int32_t rank, int32_t ranks, int32_t cuda_device,
                                       uint32_t timeout_ms, pfrt_shard_transport* out) {
  const std::string where = "pfrt_nccl_transport_create: ";
  if (out == nullptr) return failed(PFRT_INVALID_ARGUMENT, where + "out must not be null");
  std::memset(static_cast<void*>(out), 0, sizeof *out);
  out->struct_size = sizeof *out;
  if (id == nullptr) return failed(PFRT_INVALID_ARGUMENT, where + "id must not be null");
  if (ranks < 1) {
    return failed(PFRT_INVALID_ARGUMENT, where + "ranks is " + std::to_string(ranks) + ", must be at least 1");
  }
  if (rank < 0 || rank >= ranks) {
    return failed(PFRT_INVALID_ARGUMENT, where + "rank " + std::to_string(rank) + " of " + std::to_string(ranks) +
                                             " ranks (rank must be 0 .. ranks-1)");
  }
  if (cuda_device < -1) {
    return failed(PFRT_INVALID_ARGUMENT, where + "cuda_device is " + std::to_string(cuda_device) +
                                             ", must be a device index or -1 (rank mod the number of devices)");
  }
  pfrt_status status = PFRT_OK;
  if (std::string why = check_device(rank, cuda_device, status); !why.empty()) return failed(status, where + why);
  Link* link = new (std::nothrow) Link;
  if (link == nullptr) return failed(PFRT_OUT_OF_MEMORY, where + "out of memory");
  link->device = cuda_device;
  link->timeout_ms =
      timeout_ms > 0 ? double(timeout_ms) : pfrt::transport::timeout_from_environment("PFRT_NCCL_TIMEOUT_MS");
  if (std::string why = open_link(*link, *id, rank, ranks); !why.empty()) {
    link->error = why;
    release(link);
    return failed(PFRT_BACKEND_ERROR, where + "rank " + std::to_string(rank) + " of " + std::to_string(ranks) +
                                          " on CUDA device " + std::to_string(cuda_device) + ": " + why);
  }
  out->rank = rank;
  out->ranks = ranks;
  out->context = link;
  out->all_reduce = &all_reduce;
  out->release = &release;
  out->name = "nccl";
  g_last_error.clear();
  return PFRT_OK;
}

const char* pfrt_nccl_last_error(void) { return g_last_error.c_str(); }

}  // extern "C"
