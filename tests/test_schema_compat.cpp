// Files written in every released format version keep loading and computing the same logits.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "pfrt/pfrt.hpp"
#include "support/test_models.hpp"

namespace {

std::vector<float> floats(const std::string& path) {
  const auto bytes = pfrt::test::read_file(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

}  // namespace

TEST_CASE("format version 1 files load and give the logits PyTorch gave") {
  const std::string dir = std::string(PFRT_TEST_DATA_DIR) + "/v1";
  const pfrt::Model model = pfrt::Model::open(dir + "/tiny.pfrt");
  CHECK(model.info().branches == 2);
  const std::vector<float> input = floats(dir + "/input.f32");
  const std::vector<float> expected = floats(dir + "/logits.f32");
  pfrt::Session session(model, {"reference", 1, 0});
  const std::vector<float> logits = session.run(input);
  REQUIRE(logits.size() == expected.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    CHECK(logits[i] == doctest::Approx(expected[i]).epsilon(1e-4).scale(1.0));
  }
}
