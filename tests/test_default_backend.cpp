// The default backend is cpu, and only cpu: when it cannot run, creating a session without a
// backend name fails with its reason; nothing else is used in its place.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "pfrt/pfrt.h"
#include "pfrt/pfrt.hpp"
#include "support/test_models.hpp"

namespace {

// Makes the cpu backend report itself unavailable while it lives.
struct CpuUnavailable {
  explicit CpuUnavailable(const std::string& reason) { pfrt::cpu::set_unavailable_for_testing(reason); }
  ~CpuUnavailable() { pfrt::cpu::set_unavailable_for_testing(""); }
  CpuUnavailable(const CpuUnavailable&) = delete;
  CpuUnavailable& operator=(const CpuUnavailable&) = delete;
};

std::string builtin_names() {
  std::string names;
  for (size_t i = 0; const char* name = pfrt_backend_name(i); ++i) names += (i ? ", " : "") + std::string(name);
  return names;
}

}  // namespace

TEST_CASE("default backend: cpu, when no backend is named") {
  const auto bytes = pfrt::test::model_bytes(pfrt::test::tiny_config());
  pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  CHECK(pfrt::Session(model).backend() == "cpu");
  pfrt_session* session = nullptr;
  REQUIRE(pfrt_session_create(model.get(), nullptr, &session) == PFRT_OK);
  CHECK(std::string(pfrt_session_get_backend(session)) == "cpu");
  pfrt_session_destroy(session);
  CHECK(std::string(pfrt_backend_name(0)) == "cpu");
}

TEST_CASE("default backend: a cpu backend that cannot run fails session creation with its reason") {
  const auto bytes = pfrt::test::model_bytes(pfrt::test::tiny_config());
  pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());
  const CpuUnavailable unavailable("its kernels need an instruction set this CPU lacks (test hook)");
  const std::string expected =
      "the default backend 'cpu' cannot run here: its kernels need an instruction set this CPU lacks (test hook); "
      "pfrt does not fall back to another: name one (this build has: " +
      builtin_names() + ")";

  pfrt_session* session = nullptr;
  CHECK(pfrt_session_create(model.get(), nullptr, &session) == PFRT_BACKEND_ERROR);
  CHECK(session == nullptr);
  CHECK(std::string(pfrt_last_error()) == expected);
  pfrt_session_options options;
  pfrt_session_options_init(&options);  // backend NULL: the default
  CHECK(pfrt_session_create(model.get(), &options, &session) == PFRT_BACKEND_ERROR);
  CHECK(std::string(pfrt_last_error()) == expected);
  CHECK_THROWS_WITH_AS(pfrt::Session{model}, expected.c_str(), pfrt::Error);

  // Named, the same backend says so without the default's advice; the others still run.
  options.backend = "cpu";
  CHECK(pfrt_session_create(model.get(), &options, &session) == PFRT_BACKEND_ERROR);
  CHECK(std::string(pfrt_last_error()) ==
        "backend 'cpu' cannot run here: its kernels need an instruction set this CPU lacks (test hook)");
  CHECK(pfrt_backend_check("cpu") == PFRT_BACKEND_ERROR);
  CHECK(pfrt_backend_check("reference") == PFRT_OK);
  options.backend = "reference";
  REQUIRE(pfrt_session_create(model.get(), &options, &session) == PFRT_OK);
  CHECK(std::string(pfrt_session_get_backend(session)) == "reference");
  pfrt_session_destroy(session);
}
