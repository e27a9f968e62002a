#include "backend/backend.hpp"

#include "cpu/cpu_backend.hpp"
#include "error.hpp"
#include "reference/reference_backend.hpp"
#ifdef PFRT_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace pfrt::core {

const std::vector<const Backend*>& builtin_backends() {
  // The default is the first that can run here: the cpu backend; cuda is chosen by name.
  static const std::vector<const Backend*> backends = {
      &cpu::cpu_backend(),
#ifdef PFRT_HAVE_CUDA
      &cuda_backend(),
#endif
      &reference_backend()};
  return backends;
}

const Backend& find_backend(const std::string& name) {
  std::string known;
  for (const Backend* b : builtin_backends()) {
    if (name == b->name()) return *b;
    known += (known.empty() ? "" : ", ") + std::string(b->name());
  }
  fail(PFRT_INVALID_ARGUMENT, "unknown backend '" + name + "'; this build has: " + known);
}

const Backend& default_backend() {
  for (const Backend* b : builtin_backends()) {
    if (b->unavailable_reason().empty()) return *b;
  }
  return *builtin_backends().back();
}

}  // namespace pfrt::core
