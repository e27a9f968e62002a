// Sharded sessions (pfrt_shard.h) with their ranks as threads of this process
// (support/thread_transport.hpp): logits equal to one unsharded session's for every prefix and
// batch, including branch counts the ranks do not divide; every rank reports the same error when
// the ranks opened different models, are too many, or one of them stops taking part; a deadline
// answers with the prefix every rank finished. Also run under ThreadSanitizer.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "c_api_handles.hpp"
#include "pfrt/pfrt.h"
#include "pfrt/pfrt_shard.h"
#include "support/test_models.hpp"
#include "support/thread_transport.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using pfrt::test::ThreadTransports;

pfrt::format::ModelConfig five_branches() {
  pfrt::format::ModelConfig c = pfrt::test::tiny_config();
  c.branches = 5;  // 2 and 3 ranks do not divide it
  return c;
}

struct ModelHandle {
  explicit ModelHandle(const std::vector<uint8_t>& bytes) {
    REQUIRE(pfrt_model_open_buffer(bytes.data(), bytes.size(), &model) == PFRT_OK);
  }
  ~ModelHandle() { pfrt_model_close(model); }
  pfrt_model* model = nullptr;
};

// What one rank saw: its status and message at creation, then per run.
struct RankResult {
  pfrt_status created = PFRT_OK;
  std::string message;
  std::vector<pfrt_status> runs;
  std::vector<std::string> run_messages;
  std::vector<std::vector<float>> logits;
  std::vector<pfrt_run_result> results;
};

// Runs `body(rank, session)` on `ranks` threads, each with a sharded session over `model_of(rank)`.
std::vector<RankResult> on_ranks(int ranks, const std::function<pfrt_model*(int)>& model_of, const char* backend,
                                 std::chrono::milliseconds timeout,
                                 const std::function<void(int, pfrt_session*, RankResult&)>& body) {
  ThreadTransports transports(ranks, timeout);
  std::vector<RankResult> results(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      pfrt_session_options o;
      pfrt_session_options_init(&o);
      o.backend = backend;
      o.threads = 1;
      const pfrt_shard_transport t = transports.transport(r);
      pfrt_session* s = nullptr;
      RankResult& out = results[size_t(r)];
      out.created = pfrt_session_create_sharded(model_of(r), &o, &t, &s);
      out.message = pfrt_last_error();
      if (out.created == PFRT_OK) body(r, s, out);
      pfrt_session_destroy(s);
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(transports.released() == ranks);  // pfrt released every transport, whatever happened
  return results;
}

void run_into(pfrt_session* s, const std::vector<float>& input, uint32_t classes, const pfrt_run_options& o,
              RankResult& out) {
  const size_t batch = input.size() / (28 * 28);
  std::vector<float> logits(batch * classes, NAN);
  pfrt_run_result result;
  pfrt_run_result_init(&result);
  out.runs.push_back(pfrt_session_run_ex(s, input.data(), input.size(), logits.data(), logits.size(), &o, &result));
  out.run_messages.push_back(pfrt_last_error());
  out.logits.push_back(logits);
  out.results.push_back(result);
}

std::vector<float> plain_logits(pfrt_model* model, const char* backend, const std::vector<float>& input,
                                uint32_t branches) {
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  o.backend = backend;
  o.threads = 1;
  pfrt_session* s = nullptr;
  REQUIRE(pfrt_session_create(model, &o, &s) == PFRT_OK);
  pfrt_run_options ro;
  pfrt_run_options_init(&ro);
  ro.branches = branches;
  std::vector<float> logits(input.size() / (28 * 28) * 10);
  REQUIRE(pfrt_session_run_ex(s, input.data(), input.size(), logits.data(), logits.size(), &ro, nullptr) == PFRT_OK);
  pfrt_session_destroy(s);
  return logits;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The backends that shard: cuda too where a GPU is present (its ranks then share the GPU).
std::vector<const char*> sharding_backends() {
  std::vector<const char*> backends = {"cpu", "reference"};
  if (pfrt_backend_check("cuda") == PFRT_OK) backends.push_back("cuda");
  return backends;
}

}  // namespace

TEST_CASE("sharded sessions: 2 and 3 ranks give one session's logits for every prefix and batch") {
  const ModelHandle m(pfrt::test::model_bytes(five_branches(), 7));
  for (const char* backend : sharding_backends()) {
    for (int ranks : {2, 3}) {
      for (size_t batch : {size_t(1), size_t(3)}) {
        CAPTURE(backend);
        CAPTURE(ranks);
        CAPTURE(batch);
        const std::vector<float> input = pfrt::test::random_floats(batch * 28 * 28, 11);
        const auto results = on_ranks(
            ranks, [&](int) { return m.model; }, backend, std::chrono::seconds(60),
            [&](int, pfrt_session* s, RankResult& out) {
              for (uint32_t k = 1; k <= 5; ++k) {
                pfrt_run_options o;
                pfrt_run_options_init(&o);
                o.branches = k;
                run_into(s, input, 10, o, out);
              }
            });
        for (int r = 0; r < ranks; ++r) {
          const RankResult& out = results[size_t(r)];
          CAPTURE(r);
          REQUIRE_MESSAGE(out.created == PFRT_OK, out.message);
          REQUIRE(out.runs.size() == 5);
          for (uint32_t k = 1; k <= 5; ++k) {
            CAPTURE(k);
            REQUIRE_MESSAGE(out.runs[k - 1] == PFRT_OK, out.run_messages[k - 1]);
            CHECK(out.results[k - 1].branches_used == k);
            const std::vector<float> want = plain_logits(m.model, backend, input, k);
            const std::vector<float>& got = out.logits[k - 1];
            for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= 1e-5f);
          }
        }
      }
    }
  }
}

TEST_CASE("sharded sessions: describe and the shard profile say which rank ran what") {
  const ModelHandle m(pfrt::test::model_bytes(five_branches(), 7));
  const std::vector<float> input = pfrt::test::random_floats(28 * 28, 3);
  on_ranks(
      2, [&](int) { return m.model; }, "cpu", std::chrono::seconds(60),
      [&](int rank, pfrt_session* s, RankResult& out) {
        pfrt_run_options o;
        pfrt_run_options_init(&o);
        run_into(s, input, 10, o, out);
        CHECK(contains(pfrt_session_describe(s), "sharded over threads: rank " + std::to_string(rank) + " of 2"));
        pfrt_shard_profile p;
        pfrt_shard_profile_init(&p);
        REQUIRE(pfrt_session_get_shard_profile(s, &p) == PFRT_OK);
        CHECK(p.rank == rank);
        CHECK(p.ranks == 2);
        CHECK(p.branches_owned == (rank == 0 ? 3u : 2u));
        CHECK(p.agree_ms >= 0.0);
        CHECK(p.reduce_ms >= 0.0);
      });
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  o.threads = 1;
  pfrt_session* plain = nullptr;
  REQUIRE(pfrt_session_create(m.model, &o, &plain) == PFRT_OK);
  pfrt_shard_profile p;
  pfrt_shard_profile_init(&p);
  CHECK(pfrt_session_get_shard_profile(plain, &p) == PFRT_INVALID_ARGUMENT);
  CHECK(contains(pfrt_last_error(), "not sharded"));
  pfrt_session_destroy(plain);
}

TEST_CASE("sharded sessions: ranks that opened different models fail on every rank, saying so") {
  const ModelHandle a(pfrt::test::model_bytes(five_branches(), 7));
  const ModelHandle b(pfrt::test::model_bytes(five_branches(), 8));  // same shape, other weights
  const auto results = on_ranks(
      3, [&](int r) { return r == 1 ? b.model : a.model; }, "cpu", std::chrono::seconds(60),
      [](int, pfrt_session*, RankResult&) {});
  for (int r = 0; r < 3; ++r) {
    CAPTURE(r);
    CHECK(results[size_t(r)].created == PFRT_INVALID_ARGUMENT);
    CHECK(contains(results[size_t(r)].message,
                   "rank " + std::to_string(r) + " of 3: the ranks opened different model files"));
  }
}

TEST_CASE("sharded sessions: more ranks than branches, or a bad option on one rank, fail on every rank") {
  pfrt::format::ModelConfig c = pfrt::test::tiny_config();  // 2 branches
  const ModelHandle m(pfrt::test::model_bytes(c, 7));
  auto results = on_ranks(
      3, [&](int) { return m.model; }, "cpu", std::chrono::seconds(60), [](int, pfrt_session*, RankResult&) {});
  for (int r = 0; r < 3; ++r) {
    CHECK(results[size_t(r)].created == PFRT_INVALID_ARGUMENT);
    CHECK(contains(results[size_t(r)].message, "3 ranks for a model of 2 branches"));
  }
  // An unknown backend on every rank is every rank's own error; a backend that does not shard too.
  const ModelHandle five(pfrt::test::model_bytes(five_branches(), 7));
  results = on_ranks(
      2, [&](int) { return five.model; }, "no-such-backend", std::chrono::seconds(60),
      [](int, pfrt_session*, RankResult&) {});
  for (const RankResult& r : results) CHECK(contains(r.message, "unknown backend 'no-such-backend'"));
}

TEST_CASE("sharded sessions: a rank that stops taking part fails the others within the timeout, not a hang") {
  const ModelHandle m(pfrt::test::model_bytes(five_branches(), 7));
  const std::vector<float> input = pfrt::test::random_floats(28 * 28, 3);
  const Clock::time_point start = Clock::now();
  const auto results = on_ranks(
      2, [&](int) { return m.model; }, "cpu", std::chrono::milliseconds(300),
      [&](int rank, pfrt_session* s, RankResult& out) {
        if (rank == 1) return;  // leaves without running
        pfrt_run_options o;
        pfrt_run_options_init(&o);
        run_into(s, input, 10, o, out);
        run_into(s, input, 10, o, out);  // the session stays failed, at once
      });
  CHECK(Clock::now() - start < std::chrono::seconds(20));
  const RankResult& r0 = results[0];
  REQUIRE(r0.runs.size() == 2);
  CHECK(r0.runs[0] == PFRT_BACKEND_ERROR);
  CHECK(contains(r0.run_messages[0], "rank 0 of 2: threads: no answer from the other ranks within 300 ms"));
  CHECK(r0.runs[1] == PFRT_BACKEND_ERROR);
  CHECK(contains(r0.run_messages[1], "out of step"));
}

TEST_CASE("sharded sessions: runs that differ between ranks fail on every rank") {
  const ModelHandle m(pfrt::test::model_bytes(five_branches(), 7));
  const auto results = on_ranks(
      2, [&](int) { return m.model; }, "cpu", std::chrono::seconds(60),
      [&](int rank, pfrt_session* s, RankResult& out) {
        pfrt_run_options o;
        pfrt_run_options_init(&o);
        o.branches = rank == 0 ? 3 : 4;
        run_into(s, pfrt::test::random_floats(28 * 28, 3), 10, o, out);
        o.branches = 0;
        run_into(s, pfrt::test::random_floats(28 * 28, uint32_t(rank)), 10, o, out);
      });
  for (const RankResult& r : results) {
    REQUIRE(r.runs.size() == 2);
    CHECK(contains(r.run_messages[0], "different prefixes (3 to 4 branches)"));
    CHECK(contains(r.run_messages[1], "different input images"));
  }
}

namespace {

// Delays one branch until the deadline has passed.
struct Sleeper {
  uint32_t branch;
  Clock::time_point until;
  static void hook(uint32_t branch, void* context) {
    const Sleeper* s = static_cast<const Sleeper*>(context);
    if (branch == s->branch) std::this_thread::sleep_until(s->until);
  }
};

}  // namespace

TEST_CASE("sharded sessions: under a deadline the answer is the prefix every rank finished") {
  const ModelHandle m(pfrt::test::model_bytes(five_branches(), 7));
  const std::vector<float> input = pfrt::test::random_floats(28 * 28, 5);
  for (const char* backend : sharding_backends()) {
    CAPTURE(backend);
    // Rank 1 owns branches 1 and 3; branch 3 waits past the deadline, so 0..2 is the answer.
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(2000);
    Sleeper sleeper{3, deadline + std::chrono::milliseconds(50)};
    const auto results = on_ranks(
        2, [&](int) { return m.model; }, backend, std::chrono::seconds(60),
        [&](int rank, pfrt_session* s, RankResult& out) {
          if (rank == 1) s->session.set_branch_hook(&Sleeper::hook, &sleeper);
          pfrt_run_options o;
          pfrt_run_options_init(&o);
          o.deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
          o.deadline_mode = PFRT_DEADLINE_BEST_PREFIX;
          run_into(s, input, 10, o, out);
        });
    const std::vector<float> want = plain_logits(m.model, backend, input, 3);
    for (const RankResult& r : results) {
      REQUIRE(r.runs.size() == 1);
      REQUIRE_MESSAGE(r.runs[0] == PFRT_OK, r.run_messages[0]);
      CHECK(r.results[0].branches_used == 3);
      CHECK(r.results[0].deadline_reached == 1);
      for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(r.logits[0][i] - want[i]) <= 1e-5f);
    }
  }
}
