// Replays every input under tests/data/fuzz-regressions/<target>/ through the same code the
// fuzz target <target> runs (tests/fuzz/fuzz_bodies.hpp): inputs that once crashed, hung or
// exhausted memory, kept so that they never do again. Runs in every build, sanitizers included.
#include <doctest/doctest.h>

#include <dirent.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_bodies.hpp"
#include "support/test_models.hpp"

namespace {

std::vector<std::string> inputs_of(const std::string& target) {
  const std::string folder = std::string(PFRT_TEST_DATA_DIR) + "/fuzz-regressions/" + target;
  std::vector<std::string> paths;
  if (DIR* d = ::opendir(folder.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && name != "README.md") paths.push_back(folder + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

void replay(const std::string& target, void (*body)(const uint8_t*, size_t)) {
  for (const std::string& path : inputs_of(target)) {
    CAPTURE(path);
    const std::vector<uint8_t> bytes = pfrt::test::read_file(path);
    body(bytes.data(), bytes.size());  // aborts (fails the suite) on a violated expectation
  }
}

}  // namespace

TEST_CASE("fuzz regressions replay without a crash") {
  replay("fuzz_model_buffer", &pfrt::fuzz::model_buffer);
  replay("fuzz_model_file", &pfrt::fuzz::model_file);
  replay("fuzz_model_buffer", &pfrt::fuzz::model_file);  // loader inputs go through both paths
  replay("fuzz_model_file", &pfrt::fuzz::model_buffer);
  replay("fuzz_safetensors", &pfrt::fuzz::safetensors);
  replay("fuzz_config_json", &pfrt::fuzz::config_json);
  CHECK(!inputs_of("fuzz_model_buffer").empty());  // the corpus is where the test expects it
}
