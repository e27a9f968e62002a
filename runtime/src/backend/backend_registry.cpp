#include "backend/backend.hpp"

#include "cpu/cpu_backend.hpp"
#include "error.hpp"
#include "reference/reference_backend.hpp"
#ifdef PFRT_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace pfrt::core {

const std::vector<const Backend*>& builtin_backends() {
  // cpu first: the default; cuda and reference are chosen by name.
  static const std::vector<const Backend*> backends = {&cpu::cpu_backend(),
#ifdef PFRT_HAVE_CUDA
                                                       &cuda_backend(),
#endif
                                                       &reference_backend()};
  return backends;
}

const Backend& find_backend(const std::string& name) {
  for (const Backend* b : builtin_backends()) {
    if (name == b->name()) return *b;
  }
  fail(PFRT_INVALID_ARGUMENT, "unknown backend '" + name + "'; this build has: " + builtin_backend_names());
}

const Backend& default_backend() { return cpu::cpu_backend(); }

std::string builtin_backend_names() {
  std::string names;
  for (const Backend* b : builtin_backends()) names += (names.empty() ? "" : ", ") + std::string(b->name());
  return names;
}

}  // namespace pfrt::core
