// pfrt-bench's timing loop (measure.hpp): the yardstick it interleaves with a session's runs is
// timed before the first run, between runs as often as asked, and after the last, and none of
// its calls counts as a run.
#include <doctest/doctest.h>

#include "measure.hpp"
#include "pfrt/pfrt.hpp"
#include "sweep.hpp"

using namespace pfrt::tools;

namespace {

struct TinySession {
  TinySession() : bytes(sweep_model_bytes(sweep_config(shape(), SweepKind::kParallel, 1), 3)) {
    model = std::make_unique<pfrt::Model>(pfrt::Model::from_buffer(bytes.data(), bytes.size()));
    pfrt::SessionOptions options;
    options.threads = 1;
    session = std::make_unique<pfrt::Session>(*model, options);
    const pfrt::ModelInfo info = model->info();
    input.assign(size_t{info.channels} * info.image_size * info.image_size, 0.5f);
    logits.resize(info.classes);
  }
  static BlockShape shape() {
    BlockShape s;
    s.image_size = 8;
    s.patch_size = 4;
    s.embed_dim = 8;
    s.heads = 2;
    s.head_dim = 4;
    s.mlp_dim = 8;
    s.classes = 3;
    return s;
  }
  std::vector<uint8_t> bytes;
  std::unique_ptr<pfrt::Model> model;
  std::unique_ptr<pfrt::Session> session;
  std::vector<float> input, logits;
};

}  // namespace

TEST_CASE("measure: the interleaved yardstick runs before, between and after the timed runs") {
  TinySession t;
  Progress progress(false);
  for (const double every : {0.0, 1e9}) {
    CAPTURE(every);
    MeasureOptions options;
    options.warmup = 1;
    options.runs = 5;
    size_t calls = 0;
    options.interleave = [&] { ++calls; };
    options.interleave_seconds = every;
    const Measurement m = measure(*t.session, t.input, t.logits, options, progress, "tiny");
    CHECK(m.latency_ms.size() == 5);  // its calls are not runs
    // every 0 s: once before the runs, again before each of the 5, and after the last;
    // every 1e9 s: before and after only.
    CHECK(calls == (every == 0.0 ? 7u : 2u));
  }
}
