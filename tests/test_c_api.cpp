// The public API's contract: null pointers, sizes, options, lifetimes and error reporting.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "pfrt/pfrt.h"
#include "pfrt/pfrt.hpp"
#include "support/test_models.hpp"

using namespace pfrt;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string path = dir.write("m.pfrt", test::model_bytes(test::tiny_config()));
};

std::string last_error() { return pfrt_last_error(); }

}  // namespace

TEST_CASE("status strings are distinct and the version is reported") {
  std::set<std::string> names;
  for (int s = PFRT_OK; s <= PFRT_INTERNAL_ERROR; ++s) names.insert(pfrt_status_string(pfrt_status(s)));
  CHECK(names.size() == size_t(PFRT_INTERNAL_ERROR) + 1);
  CHECK(std::string(pfrt_version()) == "0.1.0");
  CHECK(pfrt_format_version() == 1);
}

TEST_CASE("null pointers are refused with a message, never dereferenced") {
  Fixture f;
  pfrt_model* model = nullptr;
  CHECK(pfrt_model_open(nullptr, &model) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "path must not be null");
  CHECK(pfrt_model_open(f.path.c_str(), nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(pfrt_model_open_buffer(nullptr, 10, &model) == PFRT_INVALID_ARGUMENT);
  CHECK(pfrt_model_get_info(nullptr, nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(pfrt_session_create(nullptr, nullptr, nullptr) == PFRT_INVALID_ARGUMENT);
  pfrt_session* session = nullptr;
  CHECK(pfrt_session_create(nullptr, nullptr, &session) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "model must not be null");
  CHECK(pfrt_session_run(nullptr, nullptr, 0, nullptr, 0) == PFRT_INVALID_ARGUMENT);
  CHECK(pfrt_model_label(nullptr, 0) == nullptr);
  CHECK(pfrt_model_metadata(nullptr, "producer") == nullptr);
  CHECK(pfrt_session_backend(nullptr) == nullptr);
  pfrt_model_close(nullptr);
  pfrt_session_destroy(nullptr);
  pfrt_session_options_init(nullptr);
}

TEST_CASE("run checks the input and output sizes and the prefix length") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  CHECK(session.backend() == "reference");
  const size_t image = model.image_floats();
  std::vector<float> input(2 * image, 0.1f), logits(20);

  CHECK(pfrt_session_run(session.get(), input.data(), image + 1, logits.data(), logits.size()) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "input has 785 floats; the model takes batches of 1x28x28 = 784 floats per image");
  CHECK(pfrt_session_run(session.get(), input.data(), 0, logits.data(), logits.size()) == PFRT_INVALID_ARGUMENT);
  CHECK(pfrt_session_run(session.get(), input.data(), 2 * image, logits.data(), 19) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "logits buffer holds 19 floats; a batch of 2 needs 20");
  CHECK(pfrt_session_run(session.get(), input.data(), 2 * image, nullptr, 20) == PFRT_INVALID_ARGUMENT);

  pfrt_run_options options;
  pfrt_run_options_init(&options);
  options.branches = 3;
  CHECK(pfrt_session_run_ex(session.get(), input.data(), 2 * image, logits.data(), 20, &options, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "prefix of 3 branches requested; the model has 2");

  pfrt_run_options unset{};
  CHECK(pfrt_session_run_ex(session.get(), input.data(), image, logits.data(), 20, &unset, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error().find("struct_size is not set") != std::string::npos);

  pfrt_run_result result{};
  result.struct_size = sizeof(result);
  options.branches = 1;
  REQUIRE(pfrt_session_run_ex(session.get(), input.data(), 2 * image, logits.data(), 20, &options, &result) == PFRT_OK);
  CHECK(result.branches_used == 1);
  CHECK(result.batch == 2);
  CHECK(result.elapsed_ms >= 0.0);
  CHECK(last_error().empty());
}

TEST_CASE("batched runs equal single runs, and prefixes differ from the full model") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  const size_t image = model.image_floats();
  const std::vector<float> batch = test::random_floats(3 * image, 42);
  const std::vector<float> all = session.run(batch);
  REQUIRE(all.size() == 30);
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<float> one(batch.begin() + long(i * image), batch.begin() + long((i + 1) * image));
    const std::vector<float> logits = session.run(one);
    CHECK(std::equal(logits.begin(), logits.end(), all.begin() + long(i * 10)));
  }
  CHECK(session.run(batch, RunOptions{1}) != all);
  CHECK(session.run(batch, RunOptions{2}) == all);
}

TEST_CASE("options: unknown backend, bad thread count, unset struct size") {
  Fixture f;
  Model model = Model::open(f.path);
  try {
    Session s(model, {"tpu", 0, 0});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.status() == PFRT_INVALID_ARGUMENT);
    CHECK(std::string(e.what()).find("unknown backend 'tpu'; this build has: ") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(Session(model, {"reference", -1, 0}), doctest::Contains("threads must be between 0"), Error);
  pfrt_session_options unset{};
  pfrt_session* s = nullptr;
  CHECK(pfrt_session_create(model.get(), &unset, &s) == PFRT_INVALID_ARGUMENT);
  CHECK(s == nullptr);
}

TEST_CASE("a session keeps its model alive after pfrt_model_close") {
  Fixture f;
  pfrt_model* model = nullptr;
  REQUIRE(pfrt_model_open(f.path.c_str(), &model) == PFRT_OK);
  pfrt_session* session = nullptr;
  REQUIRE(pfrt_session_create(model, nullptr, &session) == PFRT_OK);
  pfrt_model_close(model);
  std::vector<float> input(784, 0.5f), logits(10);
  CHECK(pfrt_session_run(session, input.data(), input.size(), logits.data(), logits.size()) == PFRT_OK);
  pfrt_session_destroy(session);
}

TEST_CASE("the last error is per thread") {
  pfrt_model* model = nullptr;
  CHECK(pfrt_model_open("/nonexistent/a.pfrt", &model) == PFRT_IO_ERROR);
  std::string other;
  std::thread([&] { other = pfrt_last_error(); }).join();
  CHECK(other.empty());
  CHECK(last_error().find("/nonexistent/a.pfrt") != std::string::npos);
}

TEST_CASE("normalize_u8 applies (pixel / 255 - mean) / std and HWC -> CHW") {
  auto c = test::tiny_config();
  c.channels = 3;
  c.mean = {0.5f, 0.25f, 0.0f};
  c.std = {0.5f, 0.25f, 1.0f};
  test::TempDir dir;
  Model model = Model::open(dir.write("m.pfrt", test::model_bytes(c)));
  std::vector<uint8_t> pixels(28 * 28 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i % 251);
  const std::vector<float> input = model.normalize(pixels.data(), pixels.size());
  const size_t plane = 28 * 28;
  for (size_t p : {size_t(0), size_t(17), plane - 1}) {
    for (size_t ch = 0; ch < 3; ++ch) {
      const float expected = (pixels[p * 3 + ch] / 255.0f - c.mean[ch]) / c.std[ch];
      CHECK(input[ch * plane + p] == doctest::Approx(expected).epsilon(1e-6));
    }
  }
  CHECK_THROWS_AS(model.normalize(pixels.data(), 10), Error);
}
