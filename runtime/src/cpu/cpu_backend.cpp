#include "cpu/cpu_backend.hpp"

#include "cpu/cpu_session.hpp"

namespace pfrt::cpu {

namespace {

class CpuBackend final : public core::Backend {
 public:
  const char* name() const override { return "cpu"; }
  std::unique_ptr<core::BackendSession> create_session(std::shared_ptr<const core::Model> model,
                                                       const core::BackendOptions& options) const override {
    return std::make_unique<CpuSession>(std::move(model), options);
  }
};

}  // namespace

const core::Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace pfrt::cpu
