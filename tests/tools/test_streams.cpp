// pfrt-bench --streams: sessions timed together on a tiny model (reference backend); a
// failing stream's error reaches the caller, named, and stops the others promptly, wherever
// it fails; the background load is gone afterwards either way.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "pfrt/pfrt.hpp"
#include "streams.hpp"
#include "support/test_models.hpp"

using namespace pfrt::tools;

namespace {

pfrt::Model tiny_model() {
  const std::vector<uint8_t> bytes = pfrt::test::model_bytes(pfrt::test::tiny_config());
  return pfrt::Model::from_buffer(bytes.data(), bytes.size());
}

std::vector<Stream> streams_of(const pfrt::Model& model, size_t count) {
  pfrt::SessionOptions options;
  options.backend = "reference";
  options.threads = 1;
  const pfrt::ModelInfo info = model.info();
  std::vector<Stream> streams;
  for (size_t k = 0; k < count; ++k) {
    streams.push_back(Stream{pfrt::Session(model, options),
                             std::vector<float>(size_t(info.channels) * info.image_size * info.image_size, 0.5f),
                             std::vector<float>(info.classes)});
  }
  return streams;
}

bool no_child_left() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD;
}

}  // namespace

TEST_CASE("streams: every stream times its runs; the wall time spans them all") {
  const pfrt::Model model = tiny_model();
  std::vector<Stream> streams = streams_of(model, 3);
  MeasureOptions options;
  options.warmup = 1;
  options.runs = 5;
  options.background_load = 1;
  Progress progress(false);
  const StreamsMeasurement m = measure_streams(streams, options, progress);
  CHECK(no_child_left());
  REQUIRE(m.streams.size() == 3);
  for (const Measurement& s : m.streams) {
    CHECK(s.latency_ms.size() == 5);
    for (double ms : s.latency_ms) CHECK(ms > 0);
    const double seconds = std::chrono::duration<double>(s.end - s.start).count();
    CHECK(seconds > 0);
    CHECK(seconds <= m.wall_s);  // each starts at or after the release, ends at or before the last
  }
}

TEST_CASE("streams: a failing stream's error is rethrown, named, and stops the others") {
  const pfrt::Model model = tiny_model();
  for (uint32_t warmup : {0u, 2u}) {  // failing while timing, and before the barrier
    CAPTURE(warmup);
    std::vector<Stream> streams = streams_of(model, 3);
    streams[1].input.pop_back();  // the wrong size: run throws PFRT_INVALID_ARGUMENT
    MeasureOptions options;
    options.warmup = warmup;
    options.runs = 1;
    options.min_seconds = 600;  // the others would run for ten minutes unless stopped
    options.background_load = 1;
    Progress progress(false);
    const auto t0 = std::chrono::steady_clock::now();
    std::string message;
    pfrt_status status = PFRT_OK;
    try {
      measure_streams(streams, options, progress);
    } catch (const pfrt::Error& e) {
      message = e.what();
      status = e.status();
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60));
    CHECK(status == PFRT_INVALID_ARGUMENT);
    CHECK(message.rfind("stream 1: ", 0) == 0);
    CHECK(no_child_left());
  }
}
