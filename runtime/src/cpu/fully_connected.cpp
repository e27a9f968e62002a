#include "cpu/fully_connected.hpp"

#include <xnnpack.h>

#include <limits>

#include "error.hpp"

namespace pfrt::cpu {

const std::string& xnnpack_init_error() {
  static const std::string error = [] {
    const xnn_status status = xnn_initialize(nullptr);
    if (status == xnn_status_success) return std::string();
    std::string why = "XNNPACK failed to initialise (status " + std::to_string(int(status));
    if (status == xnn_status_unsupported_hardware) why += ": unsupported CPU";
    // XNNPACK's cpuinfo reads the CPU list from /sys on ARM; where it cannot (a chroot or
    // container without /sys), initialisation reports out-of-memory.
    if (status == xnn_status_out_of_memory) why += ": out of memory, or cpuinfo could not read /sys/devices/system/cpu";
    return why + ")";
  }();
  return error;
}

FullyConnected::FullyConnected(size_t in, size_t out, size_t out_stride, const float* weight, const float* bias,
                               const std::string& what, bool yield_after, size_t in_stride)
    : in_(in), out_(out) {
  const xnn_status status = xnn_create_fully_connected_nc_f32(
      in, out, in_stride == 0 ? in : in_stride, out_stride, weight, bias, -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::infinity(), yield_after ? XNN_FLAG_YIELD_WORKERS : 0, &op_);
  if (status != xnn_status_success) {
    op_ = nullptr;
    core::fail(PFRT_BACKEND_ERROR, "cpu backend: XNNPACK could not create the fully-connected operator for " + what +
                                       " (" + std::to_string(in) + " -> " + std::to_string(out) + "), status " +
                                       std::to_string(int(status)));
  }
}

FullyConnected& FullyConnected::operator=(FullyConnected&& other) noexcept {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(op_);
    op_ = other.op_;
    in_ = other.in_;
    out_ = other.out_;
    other.op_ = nullptr;
  }
  return *this;
}

FullyConnected::~FullyConnected() {
  if (op_ != nullptr) xnn_delete_operator(op_);
}

void FullyConnected::run(size_t rows, const float* x, float* y, pthreadpool* pool) const {
  if (rows == 0) return;
  // Both calls only fail on arguments the session has already validated (null operator,
  // uninitialised library); a failure here is a bug, reported rather than ignored.
  xnn_status status = xnn_setup_fully_connected_nc_f32(op_, rows, x, y, pool);
  if (status == xnn_status_success) status = xnn_run_operator(op_, pool);
  if (status != xnn_status_success) {
    core::fail(PFRT_INTERNAL_ERROR, "cpu backend: XNNPACK fully-connected " + std::to_string(in_) + " -> " +
                                        std::to_string(out_) + " failed, status " + std::to_string(int(status)));
  }
}

}  // namespace pfrt::cpu
