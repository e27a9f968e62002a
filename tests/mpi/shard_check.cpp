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
//   shard_check cuda-parity mpi|nccl
//                           parity as above on the cuda backend (and with nccl, the cpu backend's
//                           reductions through NCCL too), rank r on GPU r mod the GPUs; exits with
//                           77 (skipped) on every rank without a GPU. NCCL refuses two ranks of a
//                           communicator on one GPU: with fewer GPUs than ranks, every rank must
//                           fail saying so instead
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "pfrt/pfrt_mpi.hpp"
#include "support/test_models.hpp"
#ifdef PFRT_HAVE_NCCL
#define OMPI_SKIP_MPICXX 1  // mpi.h's C API only (as libpfrt_mpi)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cuda_runtime_api.h>

#include "pfrt/pfrt_nccl.hpp"
#endif

namespace {

int g_rank = 0;
constexpr int kSkipped = 77;

// A sharded session of `model` over one transport (MPI or NCCL).
using MakeSharded = std::function<pfrt::Session(const pfrt::Model&, const pfrt::SessionOptions&)>;

pfrt::Session mpi_session(const pfrt::Model& model, const pfrt::SessionOptions& options) {
  return pfrt::mpi::session(model, options);
}

#ifdef PFRT_HAVE_NCCL
// Over NCCL: rank 0's id broadcast over MPI_COMM_WORLD, every rank on GPU rank mod the GPUs.
pfrt::Session nccl_session(const pfrt::Model& model, const pfrt::SessionOptions& options) {
  int32_t rank = 0, ranks = 1;
  std::tie(rank, ranks) = pfrt::mpi::world();
  pfrt_nccl_id id{};
  if (rank == 0) id = pfrt::nccl::unique_id();
  MPI_Bcast(&id, int(sizeof id), MPI_BYTE, 0, MPI_COMM_WORLD);
  return pfrt::shard::session(model, options, pfrt::nccl::transport(id, rank, ranks));
}
#endif

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

int parity(const std::vector<const char*>& backends, const MakeSharded& make_sharded) {
  const pfrt::Model model = tiny_model(5, 7);
  size_t runs = 0;
  for (const char* backend : backends) {
    pfrt::SessionOptions o;
    o.backend = backend;
    o.threads = 1;
    pfrt::Session sharded = make_sharded(model, o);
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
      status = parity({"cpu", "reference"}, &mpi_session);
    } else if (mode == "cuda-parity") {
      const std::string transport = argc > 2 ? argv[2] : "";
      if (pfrt_backend_check("cuda") != PFRT_OK) {
        std::printf("rank %d: SKIPPED: no usable CUDA device (%s)\n", g_rank, pfrt_last_error());
        status = kSkipped;
      } else if (transport == "mpi") {
        status = parity({"cuda"}, &mpi_session);
#ifdef PFRT_HAVE_NCCL
      } else if (transport == "nccl") {
        int gpus = 0;
        (void)cudaGetDeviceCount(&gpus);
        if (gpus >= ranks) {
          status = parity({"cuda", "cpu"}, &nccl_session);
        } else {
          const pfrt::Model model = tiny_model(5, 7);
          status = expect_error(error_of([&] { nccl_session(model, {}); }), "invalid usage");
        }
#endif
      } else {
        status = outcome(false, "cuda-parity: transport '" + transport + "' is not mpi or nccl (nccl: where built)");
      }
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
      std::fprintf(stderr, "usage: shard_check parity|models|ranks|early-exit|crash|cuda-parity mpi|nccl\n");
    }
  } catch (const std::exception& e) {
    status = outcome(false, std::string("unexpected error: ") + e.what());
  }
  pfrt::mpi::finalize();
  return status;
}
