// The public API's contract: null pointers, sizes, options, lifetimes and error reporting.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
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
  CHECK(std::string(pfrt_version()) == std::to_string(PFRT_VERSION_MAJOR) + "." + std::to_string(PFRT_VERSION_MINOR) +
                                           "." + std::to_string(PFRT_VERSION_PATCH));
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
  CHECK(pfrt_model_get_label(nullptr, 0) == nullptr);
  CHECK(pfrt_model_get_metadata(nullptr, "producer") == nullptr);
  CHECK(pfrt_session_get_backend(nullptr) == nullptr);
  pfrt_model_close(nullptr);
  pfrt_session_destroy(nullptr);
  pfrt_session_options_init(nullptr);
}

TEST_CASE("every other C API function with a null pointer: a status and a message, or NULL / 0") {
  Fixture f;
  pfrt_model* model = nullptr;
  REQUIRE(pfrt_model_open(f.path.c_str(), &model) == PFRT_OK);
  pfrt_session* session = nullptr;
  pfrt_session_options options;
  pfrt_session_options_init(&options);
  options.backend = "reference";
  options.threads = 1;
  REQUIRE(pfrt_session_create(model, &options, &session) == PFRT_OK);
  std::vector<float> input(784, 0.25f), logits(10), expected(10);
  REQUIRE(pfrt_session_run(session, input.data(), input.size(), expected.data(), expected.size()) == PFRT_OK);

  int info_sentinel = 0;  // what *out_model points at before a failed open (it must be reset)
  // Functions that return a status name the null argument.
  CHECK(pfrt_backend_check(nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "name must not be null");
  CHECK(pfrt_model_open_buffer("x", 1, nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "out_model must not be null");
  pfrt_model* none = reinterpret_cast<pfrt_model*>(&info_sentinel);
  CHECK(pfrt_model_open_buffer(nullptr, 0, &none) == PFRT_INVALID_MODEL);  // no bytes: not a model, not a crash
  CHECK(none == nullptr);
  CHECK(last_error() == "<buffer>: truncated: 0 bytes is too short for a pfrt model header");
  pfrt_model_info info;
  pfrt_model_info_init(&info);
  CHECK(pfrt_model_get_info(nullptr, &info) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "model must not be null");
  CHECK(pfrt_model_get_info(model, nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "info must not be null");
  CHECK(pfrt_session_create(model, nullptr, nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "out_session must not be null");
  CHECK(pfrt_session_run(session, nullptr, input.size(), logits.data(), logits.size()) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "input and logits must not be null");
  CHECK(pfrt_session_run_ex(nullptr, input.data(), input.size(), logits.data(), logits.size(), nullptr, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "session must not be null");
  CHECK(pfrt_session_run_ex(session, input.data(), input.size(), nullptr, logits.size(), nullptr, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "input and logits must not be null");
  CHECK(pfrt_session_cancel(nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "session must not be null");
  pfrt_profile profile;
  pfrt_profile_init(&profile);
  double branch_ms[2] = {-1.0, -1.0};
  CHECK(pfrt_session_get_profile(nullptr, &profile, branch_ms, 2) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "session must not be null");
  CHECK(pfrt_session_get_profile(session, nullptr, branch_ms, 2) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "profile must not be null");
  CHECK(pfrt_session_get_profile(session, &profile, nullptr, 2) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "branch_ms must not be null");
  CHECK(pfrt_session_get_profile(session, &profile, nullptr, 0) == PFRT_OK);  // no per-branch times wanted
  CHECK(profile.branches == 0);
  std::vector<uint8_t> pixels(784, 128);
  CHECK(pfrt_model_normalize_u8(nullptr, pixels.data(), pixels.size(), input.data(), input.size()) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "model must not be null");
  CHECK(pfrt_model_normalize_u8(model, nullptr, pixels.size(), input.data(), input.size()) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "pixels must not be null");
  CHECK(pfrt_model_normalize_u8(model, pixels.data(), pixels.size(), nullptr, input.size()) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "input must not be null");
  CHECK(std::all_of(input.begin(), input.end(), [](float v) { return v == 0.25f; }));  // untouched

  // Functions that return a pointer or a count return NULL / 0 for a null handle or key.
  CHECK(pfrt_model_get_name(nullptr) == nullptr);
  CHECK(pfrt_model_get_metadata(model, nullptr) == nullptr);
  CHECK(pfrt_model_get_input_mean(nullptr) == nullptr);
  CHECK(pfrt_model_get_input_std(nullptr) == nullptr);
  CHECK(pfrt_session_describe(nullptr) == nullptr);
  CHECK(pfrt_session_get_threads(nullptr) == 0);
  CHECK(pfrt_backend_name(1000) == nullptr);
  pfrt_run_options_init(nullptr);
  pfrt_run_result_init(nullptr);
  pfrt_profile_init(nullptr);
  pfrt_model_info_init(nullptr);
  CHECK(pfrt_last_error() != nullptr);

  // None of this disturbed the handles: the same session gives the same answer.
  CHECK(pfrt_session_run(session, input.data(), input.size(), logits.data(), logits.size()) == PFRT_OK);
  CHECK(logits == expected);
  CHECK(pfrt_session_get_profile(session, &profile, branch_ms, 2) == PFRT_OK);
  CHECK(profile.branches == 2);
  CHECK(branch_ms[0] >= 0.0);
  pfrt_session_destroy(session);
  pfrt_model_close(model);
}

TEST_CASE("run checks the input and output sizes and the prefix length") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  CHECK(session.backend() == "reference");
  const size_t image = model.image_floats();
  std::vector<float> input(2 * image, 0.1f), logits(20);

  CHECK(pfrt_session_run(session.get(), input.data(), image + 1, logits.data(), logits.size()) ==
        PFRT_INVALID_ARGUMENT);
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

  // A deadline_mode from C that is no pfrt_deadline_mode value (written as C would, as an int).
  pfrt_run_options bad_mode;
  pfrt_run_options_init(&bad_mode);
  const int seven = 7;
  static_assert(sizeof(bad_mode.deadline_mode) == sizeof(seven), "a C enum is int-sized");
  std::memcpy(&bad_mode.deadline_mode, &seven, sizeof(seven));
  CHECK(pfrt_session_run_ex(session.get(), input.data(), image, logits.data(), 20, &bad_mode, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "unknown deadline_mode 7");

  pfrt_run_options unset{};
  CHECK(pfrt_session_run_ex(session.get(), input.data(), image, logits.data(), 20, &unset, nullptr) ==
        PFRT_INVALID_ARGUMENT);
  CHECK(last_error().find("struct_size is not set") != std::string::npos);

  pfrt_run_result result;
  pfrt_run_result_init(&result);
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

TEST_CASE("options: spin_us is checked, defaults to -1, and is not read past an older caller's struct") {
  Fixture f;
  Model model = Model::open(f.path);
  for (const int32_t bad : {-2, 1000001, INT32_MIN}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(Session(model, {"cpu", 1, 0, bad}), doctest::Contains("spin_us must be between 0"), Error);
  }
  for (const int32_t good : {-1, 0, 1000000}) CHECK_NOTHROW(Session(model, {"cpu", 1, 0, good}));
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  CHECK(o.spin_us == -1);
  // A caller built before spin_us existed: its struct ends at affinity_mask, and the bytes
  // after it (here an invalid spin_us) are not its own.
  o.spin_us = -7;
  o.struct_size = uint32_t(offsetof(pfrt_session_options, spin_us));
  pfrt_session* s = nullptr;
  CHECK(pfrt_session_create(model.get(), &o, &s) == PFRT_OK);
  pfrt_session_destroy(s);
  o.struct_size = sizeof(o);
  CHECK(pfrt_session_create(model.get(), &o, &s) == PFRT_INVALID_ARGUMENT);
  CHECK(std::string(pfrt_last_error()).find("got -7") != std::string::npos);
}

TEST_CASE("a session keeps its model alive after pfrt_model_close") {
  // Documented (pfrt.h): sessions hold a reference to their model. Under ASan a session that
  // used freed model memory after the close would fail here.
  Fixture f;
  for (size_t b = 0; const char* backend = pfrt_backend_name(b); ++b) {
    if (pfrt_backend_check(backend) != PFRT_OK) continue;
    CAPTURE(std::string(backend));
    pfrt_model* model = nullptr;
    REQUIRE(pfrt_model_open(f.path.c_str(), &model) == PFRT_OK);
    pfrt_session_options options;
    pfrt_session_options_init(&options);
    options.backend = backend;
    options.threads = 1;
    pfrt_session *session = nullptr, *second = nullptr;
    REQUIRE(pfrt_session_create(model, &options, &session) == PFRT_OK);
    REQUIRE(pfrt_session_create(model, &options, &second) == PFRT_OK);
    const std::vector<float> input = test::random_floats(2 * 784, 77);
    std::vector<float> expected(20), logits(20, -1.0f);
    REQUIRE(pfrt_session_run(session, input.data(), input.size(), expected.data(), expected.size()) == PFRT_OK);
    pfrt_model_close(model);  // the caller's handle is gone; the sessions still hold the model
    CHECK(pfrt_session_run(session, input.data(), input.size(), logits.data(), logits.size()) == PFRT_OK);
    CHECK(logits == expected);
    pfrt_session_destroy(session);  // the second session is now the model's only owner
    std::fill(logits.begin(), logits.end(), -1.0f);
    CHECK(pfrt_session_run(second, input.data(), input.size(), logits.data(), logits.size()) == PFRT_OK);
    CHECK(logits == expected);
    pfrt_session_destroy(second);
  }
}

TEST_CASE("NaN and infinity in the input are refused on every backend, naming the element") {
  // docs/network.md, "Non-finite and huge inputs": one rule for every backend, checked by the
  // session before the backend runs. The logits buffer is left as it was, and the session is
  // not poisoned.
  Fixture f;
  Model model = Model::open(f.path);
  const size_t image = model.image_floats();
  const std::vector<float> clean = test::random_floats(3 * image, 5);
  for (size_t b = 0; const char* backend = pfrt_backend_name(b); ++b) {
    if (pfrt_backend_check(backend) != PFRT_OK) continue;
    CAPTURE(std::string(backend));
    Session session(model, {backend, 1, 0});
    const std::vector<float> expected = session.run(clean);
    for (const float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity()}) {
      CAPTURE(poison);
      std::vector<float> input = clean;
      input[image + 300] = poison;    // the second image: 28x28x1, so row 10, column 20
      input[2 * image + 5] = poison;  // a later one is not the one named
      std::vector<float> logits(30, 7.0f);
      REQUIRE(pfrt_session_run(session.get(), input.data(), input.size(), logits.data(), logits.size()) ==
              PFRT_INVALID_ARGUMENT);
      const std::string what = std::isnan(poison) ? "NaN" : poison > 0 ? "+Inf" : "-Inf";
      CHECK(last_error() == "input element " + std::to_string(image + 300) +
                                " (image 1, channel 0, row 10, column 20) is " + what +
                                ": pfrt refuses non-finite input (check the preprocessing)");
      CHECK(std::all_of(logits.begin(), logits.end(), [](float v) { return v == 7.0f; }));
      CHECK(session.run(clean) == expected);
    }
  }
}

TEST_CASE("a NaN budget is refused as NaN, not as negative") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  const std::vector<float> input = test::random_floats(model.image_floats(), 3);
  std::vector<float> logits(10);
  pfrt_run_options options;
  pfrt_run_options_init(&options);
  options.budget_ms = std::numeric_limits<double>::quiet_NaN();
  CHECK(pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(), &options,
                            nullptr) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "budget_ms is NaN: give milliseconds >= 0");
}

TEST_CASE("C++ wrapper: a wrongly sized input vector is a size error, not a null pointer") {
  // Regression: a vector shorter than one image made the wrapper pass an empty logits buffer,
  // and the error said "input and logits must not be null".
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  const size_t image = model.image_floats();
  for (const size_t floats : {size_t(0), size_t(1), image - 1, image + 1}) {
    CAPTURE(floats);
    CHECK_THROWS_WITH_AS(
        session.run(std::vector<float>(floats, 0.5f)),
        doctest::Contains(("input has " + std::to_string(floats) + " floats; the model takes").c_str()), Error);
  }
}

TEST_CASE("huge finite inputs: every backend agrees with the reference (LayerNorm does not overflow), or all refuse") {
  // The stem's GEMM keeps the input's scale, and a LayerNorm row of values near 1e19 has squares
  // beyond FLT_MAX: the cpu and cuda kernels then compute that row in double as the reference does.
  Fixture f;
  Model model = Model::open(f.path);
  const std::vector<float> clean = test::random_floats(2 * model.image_floats(), 11);
  Session reference(model, {"reference", 1, 0});
  for (size_t b = 0; const char* backend = pfrt_backend_name(b); ++b) {
    if (pfrt_backend_check(backend) != PFRT_OK || std::string(backend) == "reference") continue;
    CAPTURE(std::string(backend));
    Session session(model, {backend, 1, 0});
    for (const float scale : {1e10f, 1e19f, 1e25f, 1e30f}) {
      CAPTURE(scale);
      std::vector<float> input = clean;
      for (float& v : input) v *= scale;
      const std::vector<float> want = reference.run(input);
      const std::vector<float> got = session.run(input);
      REQUIRE(got.size() == want.size());
      float largest = 1.0f;
      for (float v : want) largest = std::max(largest, std::fabs(v));
      for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= 1e-4f * largest);
    }
    // Beyond float's range in an intermediate: both fail the same way instead of answering.
    std::vector<float> input = clean;
    for (float& v : input) v = v >= 0 ? 3e38f : -3e38f;
    for (Session* s : {&reference, &session}) {
      std::vector<float> logits(20);
      CHECK(pfrt_session_run(s->get(), input.data(), input.size(), logits.data(), logits.size()) ==
            PFRT_INVALID_ARGUMENT);
      CHECK(last_error().find("the input is too large for float arithmetic") != std::string::npos);
    }
  }
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

namespace {

// A caller's struct of `size` bytes (an older or a newer header than the library's) in a buffer
// whose other bytes are `fill`: what the library may not touch.
struct CallerBytes {
  alignas(8) unsigned char bytes[256];
  CallerBytes(uint32_t size, unsigned char fill) {
    std::memset(bytes, fill, sizeof(bytes));
    std::memcpy(bytes, &size, sizeof(size));
  }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(bytes);
  }
  bool untouched_from(size_t offset, unsigned char fill) const {
    return std::all_of(bytes + offset, bytes + sizeof(bytes), [&](unsigned char b) { return b == fill; });
  }
};

}  // namespace

TEST_CASE("structs: every _init sets struct_size and zeroes the rest") {
  pfrt_model_info info;
  pfrt_model_info_init(&info);
  CHECK(info.struct_size == sizeof(info));
  CHECK(info.classes == 0);
  pfrt_run_result result;
  pfrt_run_result_init(&result);
  CHECK(result.struct_size == sizeof(result));
  pfrt_profile profile;
  pfrt_profile_init(&profile);
  CHECK(profile.struct_size == sizeof(profile));
  pfrt_run_options run;
  pfrt_run_options_init(&run);
  CHECK(run.struct_size == sizeof(run));
  pfrt_session_options session;
  pfrt_session_options_init(&session);
  CHECK(session.struct_size == sizeof(session));
  CHECK(session.spin_us == -1);
}

TEST_CASE("structs: a shorter struct (an older header) is written only as far as its struct_size") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  std::vector<float> input(784, 0.5f), logits(10);

  // pfrt_model_info up to `classes`: filled; the bytes after it are not the caller's.
  CallerBytes info(uint32_t(offsetof(pfrt_model_info, tokens)), 0xab);
  REQUIRE(pfrt_model_get_info(model.get(), info.as<pfrt_model_info>()) == PFRT_OK);
  CHECK(info.as<pfrt_model_info>()->image_size == 28);
  CHECK(info.as<pfrt_model_info>()->classes == 10);
  CHECK(info.as<pfrt_model_info>()->struct_size == offsetof(pfrt_model_info, tokens));
  CHECK(info.untouched_from(offsetof(pfrt_model_info, tokens), 0xab));

  CallerBytes result(uint32_t(offsetof(pfrt_run_result, deadline_reached)), 0xab);
  REQUIRE(pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(), nullptr,
                              result.as<pfrt_run_result>()) == PFRT_OK);
  CHECK(result.as<pfrt_run_result>()->branches_used == 2);
  CHECK(result.as<pfrt_run_result>()->batch == 1);
  CHECK(result.untouched_from(offsetof(pfrt_run_result, deadline_reached), 0xab));

  CallerBytes profile(uint32_t(offsetof(pfrt_profile, branches_ms)), 0xab);
  double branch_ms[2] = {-1.0, -1.0};
  REQUIRE(pfrt_session_get_profile(session.get(), profile.as<pfrt_profile>(), branch_ms, 2) == PFRT_OK);
  CHECK(profile.as<pfrt_profile>()->branches == 2);
  CHECK(profile.untouched_from(offsetof(pfrt_profile, branches_ms), 0xab));

  // An input struct that ends before a field: the field keeps its default (run options of only
  // struct_size and branches, the bytes after them an invalid budget).
  CallerBytes run(uint32_t(offsetof(pfrt_run_options, budget_ms)), 0xff);
  const uint32_t one = 1;
  std::memcpy(run.bytes + offsetof(pfrt_run_options, branches), &one, sizeof(one));
  pfrt_run_result r;
  pfrt_run_result_init(&r);
  REQUIRE(pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(),
                              run.as<pfrt_run_options>(), &r) == PFRT_OK);
  CHECK(r.branches_used == 1);
}

TEST_CASE("structs: a longer struct (a newer header) has its unknown fields zeroed or refused when set") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  std::vector<float> input(784, 0.5f), logits(10);
  const uint32_t longer = uint32_t(sizeof(pfrt_run_result)) + 16;

  // Received structs: the bytes past the library's fields are zeroed, nothing past struct_size.
  CallerBytes result(longer, 0xab);
  REQUIRE(pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(), nullptr,
                              result.as<pfrt_run_result>()) == PFRT_OK);
  CHECK(result.as<pfrt_run_result>()->struct_size == longer);
  CHECK(result.as<pfrt_run_result>()->branches_used == 2);
  CHECK(std::all_of(result.bytes + sizeof(pfrt_run_result), result.bytes + longer,
                    [](unsigned char b) { return b == 0; }));
  CHECK(result.untouched_from(longer, 0xab));
  CallerBytes info(uint32_t(sizeof(pfrt_model_info)) + 8, 0xab);
  REQUIRE(pfrt_model_get_info(model.get(), info.as<pfrt_model_info>()) == PFRT_OK);
  CHECK(info.as<pfrt_model_info>()->file_size > 0);
  CHECK(info.untouched_from(sizeof(pfrt_model_info) + 8, 0xab));

  // Filled structs: unknown fields left zero are fine; one that is set is refused.
  CallerBytes options(uint32_t(sizeof(pfrt_session_options)) + 8, 0);
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  o.backend = "reference";
  o.struct_size = uint32_t(sizeof(o)) + 8;
  std::memcpy(options.bytes, &o, sizeof(o));
  pfrt_session* s = nullptr;
  REQUIRE(pfrt_session_create(model.get(), options.as<pfrt_session_options>(), &s) == PFRT_OK);
  CHECK(std::string(pfrt_session_get_backend(s)) == "reference");
  pfrt_session_destroy(s);
  options.bytes[sizeof(o) + 3] = 1;
  s = nullptr;
  CHECK(pfrt_session_create(model.get(), options.as<pfrt_session_options>(), &s) == PFRT_UNSUPPORTED);
  CHECK(s == nullptr);
  CHECK(last_error() == "pfrt_session_options sets fields that pfrt " + std::string(pfrt_version()) +
                            " does not know (struct_size " + std::to_string(sizeof(o) + 8) + ", of which it knows " +
                            std::to_string(sizeof(o)) + " bytes): this program needs a newer libpfrt");
}

TEST_CASE("structs: an unset or implausible struct_size is refused before anything runs") {
  Fixture f;
  Model model = Model::open(f.path);
  Session session(model, {"reference", 1, 0});
  std::vector<float> input(784, 0.5f), logits(10, -7.0f);
  pfrt_model_info info{};
  CHECK(pfrt_model_get_info(model.get(), &info) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "pfrt_model_info.struct_size is not set (call pfrt_model_info_init)");
  pfrt_run_result result;
  pfrt_run_result_init(&result);
  result.struct_size = 100000;
  CHECK(pfrt_session_run_ex(session.get(), input.data(), input.size(), logits.data(), logits.size(), nullptr,
                            &result) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "pfrt_run_result.struct_size 100000 is no size of this struct (call pfrt_run_result_init)");
  CHECK(logits == std::vector<float>(10, -7.0f));  // refused before the run
  pfrt_profile profile{};
  CHECK(pfrt_session_get_profile(session.get(), &profile, nullptr, 0) == PFRT_INVALID_ARGUMENT);
  CHECK(last_error() == "pfrt_profile.struct_size is not set (call pfrt_profile_init)");
}

TEST_CASE("stage times: every kind of stage named, their operations add up to the run's, strides by struct_size") {
  Fixture f;
  Model model = Model::open(f.path);
  const ModelInfo info = model.info();
  for (const char* backend : {"reference", "cpu"}) {
    CAPTURE(backend);
    Session session(model, {backend, 2, 0});
    std::vector<float> input(2 * 784, 0.5f), logits(2 * 10);
    session.run(input.data(), input.size(), logits.data(), logits.size());

    size_t count = 99;
    REQUIRE(pfrt_session_get_stage_times(session.get(), nullptr, 0, &count) == PFRT_OK);  // the count only
    CHECK(count == PFRT_STAGE_KINDS);

    pfrt_stage_time times[PFRT_STAGE_KINDS];
    for (pfrt_stage_time& t : times) pfrt_stage_time_init(&t);
    REQUIRE(pfrt_session_get_stage_times(session.get(), times, PFRT_STAGE_KINDS, &count) == PFRT_OK);
    uint64_t flops = 0;
    std::set<std::string> names;
    for (size_t k = 0; k < count; ++k) {
      CHECK(times[k].kind == k);
      CHECK(times[k].ms >= 0.0);
      names.insert(times[k].name);
      flops += times[k].flops;
    }
    CHECK(names.size() == PFRT_STAGE_KINDS);
    CHECK(std::string(times[PFRT_STAGE_ATTENTION].name) == "attention");
    CHECK(times[PFRT_STAGE_STEM].flops > 0);
    CHECK(flops == 2 * info.flops);  // the batch of two, every branch

    // The C++ wrapper reads the same.
    const Profile p = session.profile();
    REQUIRE(p.stages.size() == PFRT_STAGE_KINDS);
    CHECK(p.stages[PFRT_STAGE_QKV].name == "qkv");
    CHECK(p.stages[PFRT_STAGE_QKV].flops == times[PFRT_STAGE_QKV].flops);

    // Entries of an older, shorter struct: written as far as their struct_size, stepped by it.
    const uint32_t short_size = uint32_t(offsetof(pfrt_stage_time, ms));
    std::vector<unsigned char> bytes(3 * short_size + 16, 0xab);
    for (size_t k = 0; k < 3; ++k) std::memcpy(bytes.data() + k * short_size, &short_size, sizeof(short_size));
    REQUIRE(pfrt_session_get_stage_times(session.get(), reinterpret_cast<pfrt_stage_time*>(bytes.data()), 3, &count) ==
            PFRT_OK);
    for (size_t k = 0; k < 3; ++k) {
      uint32_t kind = 99;
      std::memcpy(&kind, bytes.data() + k * short_size + offsetof(pfrt_stage_time, kind), sizeof(kind));
      CHECK(kind == k);
    }
    CHECK(std::all_of(bytes.begin() + 3 * short_size, bytes.end(), [](unsigned char b) { return b == 0xab; }));

    // Entries of different sizes, a missing count, and an unset entry are refused.
    times[1].struct_size = 8;
    CHECK(pfrt_session_get_stage_times(session.get(), times, 2, &count) == PFRT_INVALID_ARGUMENT);
    CHECK(last_error().find("times[0]'s struct_size") != std::string::npos);
    CHECK(pfrt_session_get_stage_times(session.get(), times, 2, nullptr) == PFRT_INVALID_ARGUMENT);
    CHECK(pfrt_session_get_stage_times(session.get(), nullptr, 2, &count) == PFRT_INVALID_ARGUMENT);
    times[0].struct_size = 0;
    CHECK(pfrt_session_get_stage_times(session.get(), times, 1, &count) == PFRT_INVALID_ARGUMENT);
  }
}
