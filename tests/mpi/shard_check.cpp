// Run under mpirun: one sharded session per rank over MPI_COMM_WORLD (pfrt/pfrt_mpi.hpp), and
// what each rank must see. Every rank checks its own outcome and exits 0 only when it is the
// expected one, so mpirun's exit code says whether every rank did.
//   shard_check parity      logits equal to an unsharded session's within 1e-5 for every prefix
//                           of a 5-branch model, batches 1 and 3, backends cpu and reference
//   shard_check models      rank 1 opens another model: every rank fails, naming the cause
//   shard_check ranks       a 2-branch model on more ranks: every rank fails, naming the cause
//   shard_check early-exit  rank 1 leaves after creating its session: the others' run fails
//                           within the timeout (PFRT_MPI_TIMEOUT_MS), naming the cause
//   shard_check crash       rank 1 dies after creating its session (no MPI_Finalize): mpirun
//                           ends the job with a failure (the test expects one), nothing hangs
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "pfrt/pfrt_mpi.hpp"
#include "support/test_models.hpp"

namespace {

int g_rank = 0;

pfrt::Model tiny_model(uint32_t branches, uint32_t seed) {
  pfrt::format::ModelConfig c = pfrt::test::tiny_config();
  c.branches = branches;
  const std::vector<uint8_t> bytes = pfrt::test::model_bytes(c, seed);
  return pfrt::Model::from_buffer(bytes.data(), bytes.size());
}

int outcome(bool ok, const std::string& what) {
  std::printf("rank %d: %s: %s\n", g_rank, ok ? "ok" : "FAILED", what.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

// The message of the Error that `body` throws; empty when it throws none.
template <class F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const pfrt::Error& e) {
    return e.what();
  }
  return {};
}

int parity() {
  const pfrt::Model model = tiny_model(5, 7);
  size_t runs = 0;
  for (const char* backend : {"cpu", "reference"}) {
    pfrt::SessionOptions o;
    o.backend = backend;
    o.threads = 1;
    pfrt::Session sharded = pfrt::mpi::session(model, o);
    pfrt::Session plain(model, o);
    for (size_t batch : {size_t(1), size_t(3)}) {
      const std::vector<float> input = pfrt::test::random_floats(batch * 28 * 28, 11);
      for (uint32_t k = 1; k <= 5; ++k) {
        pfrt::RunOptions r;
        r.branches = k;
        const std::vector<float> got = sharded.run(input, r), want = plain.run(input, r);
        for (size_t i = 0; i < want.size(); ++i) {
          if (!(std::fabs(got[i] - want[i]) <= 1e-5f)) {
            return outcome(false, std::string(backend) + " batch " + std::to_string(batch) + " prefix " +
                                      std::to_string(k) + ": logit " + std::to_string(i) + " is " +
                                      std::to_string(got[i]) + ", one process gives " + std::to_string(want[i]));
          }
        }
        ++runs;
        const pfrt::shard::Profile p = pfrt::shard::profile(sharded);
        if (p.rank != g_rank || p.branches_owned != (k > uint32_t(g_rank) ? (k - g_rank + p.ranks - 1) / p.ranks : 0)) {
          return outcome(false, "the shard profile says rank " + std::to_string(p.rank) + " owns " +
                                    std::to_string(p.branches_owned) + " of prefix " + std::to_string(k));
        }
      }
    }
    if (pfrt::shard::sharded(plain)) return outcome(false, "a plain session says it is sharded");
  }
  return outcome(true, std::to_string(runs) + " runs equal to one process's within 1e-5");
}

int expect_error(const std::string& error, const std::string& want) {
  return outcome(error.find(want) != std::string::npos, "error '" + error + "'");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  int status = 1;
  try {
    int32_t ranks = 1;
    std::tie(g_rank, ranks) = pfrt::mpi::world();
    if (mode == "parity") {
      status = parity();
    } else if (mode == "models") {
      const pfrt::Model model = tiny_model(5, g_rank == 1 ? 8 : 7);
      status = expect_error(error_of([&] { pfrt::mpi::session(model); }), "the ranks opened different model files");
    } else if (mode == "ranks") {
      const pfrt::Model model = tiny_model(2, 7);
      status = expect_error(error_of([&] { pfrt::mpi::session(model); }),
                            std::to_string(ranks) + " ranks for a model of 2 branches");
    } else if (mode == "crash") {
      const pfrt::Model model = tiny_model(5, 7);
      pfrt::Session session = pfrt::mpi::session(model);
      if (g_rank == 1) std::_Exit(3);
      session.run(pfrt::test::random_floats(28 * 28, 1));
      status = outcome(false, "ran although rank 1 died");
    } else if (mode == "early-exit") {
      const pfrt::Model model = tiny_model(5, 7);
      pfrt::Session session = pfrt::mpi::session(model);
      if (g_rank == 1) {
        status = outcome(true, "leaves without running");
      } else {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<float> input = pfrt::test::random_floats(28 * 28, 1);
        status = expect_error(error_of([&] { session.run(input); }), "no answer from the other ranks within");
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("rank %d: the run failed after %.1f s\n", g_rank, waited);
      }
    } else {
      std::fprintf(stderr, "usage: shard_check parity|models|ranks|early-exit|crash\n");
    }
  } catch (const std::exception& e) {
    status = outcome(false, std::string("unexpected error: ") + e.what());
  }
  pfrt::mpi::finalize();
  return status;
}
