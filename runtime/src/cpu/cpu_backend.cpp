#include "cpu/cpu_backend.hpp"

#include <mutex>

#include "cpu/cpu_session.hpp"

namespace pfrt::cpu {

namespace {

std::mutex g_testing_mutex;
std::string g_unavailable_for_testing;

class CpuBackend final : public core::Backend {
 public:
  const char* name() const override { return "cpu"; }
  bool shards() const override { return true; }
  std::string unavailable_reason() const override {
    const std::lock_guard<std::mutex> lock(g_testing_mutex);
    return g_unavailable_for_testing;
  }
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

void set_unavailable_for_testing(const std::string& reason) {
  const std::lock_guard<std::mutex> lock(g_testing_mutex);
  g_unavailable_for_testing = reason;
}

}  // namespace pfrt::cpu
