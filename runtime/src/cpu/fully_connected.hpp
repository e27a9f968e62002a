// One XNNPACK fully-connected operator: y = x W^T + b with W in nn.Linear's [out, in] layout.
// The weights are packed (copied into XNNPACK's blocked layout) when it is made, once per
// session; a run only sets up pointers and row count. Not for concurrent use: the CPU backend
// gives every branch its own operators.
#pragma once

#include <cstddef>
#include <string>

struct xnn_operator;
struct pthreadpool;

namespace pfrt::cpu {

// Empty when XNNPACK initialised (once per process), else why not.
const std::string& xnnpack_init_error();

class FullyConnected {
 public:
  FullyConnected() = default;
  // out_stride: floats between output rows (>= out). `what` names the layer in errors.
  // yield_after: the pool's workers go to sleep after this operator instead of spinning (for
  // the last GEMM before other threads take over the cores). in_stride: floats between input
  // rows (0: in), e.g. to read only the class-token row of every image.
  FullyConnected(size_t in, size_t out, size_t out_stride, const float* weight, const float* bias,
                 const std::string& what, bool yield_after = false, size_t in_stride = 0);
  FullyConnected(FullyConnected&& other) noexcept : op_(other.op_), in_(other.in_), out_(other.out_) {
    other.op_ = nullptr;
  }
  FullyConnected& operator=(FullyConnected&& other) noexcept;
  FullyConnected(const FullyConnected&) = delete;
  FullyConnected& operator=(const FullyConnected&) = delete;
  ~FullyConnected();

  explicit operator bool() const { return op_ != nullptr; }
  // y[rows, out] = x[rows, in] W^T + b on `pool` (null: the calling thread). x needs
  // XNN_EXTRA_BYTES of readable slack past its end.
  void run(size_t rows, const float* x, float* y, pthreadpool* pool) const;

 private:
  xnn_operator* op_ = nullptr;
  size_t in_ = 0, out_ = 0;
};

}  // namespace pfrt::cpu
