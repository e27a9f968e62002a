#include "ranks.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "args.hpp"
#ifdef PFRT_HAVE_MPI
#include "pfrt/pfrt_mpi.hpp"
#endif

namespace pfrt::tools {

namespace {

// The job's size as the launcher tells its processes: Open MPI's mpirun, or a PMI launcher
// (MPICH's hydra, Slurm's srun). 1 when none says.
int32_t launched_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && std::atoi(value) > 0) return std::atoi(value);
  }
  return 1;
}

}  // namespace

Ranks join_ranks() {
  Ranks r;
  if (launched_ranks() <= 1) return r;
#ifdef PFRT_HAVE_MPI
  const auto [rank, ranks] = mpi::world();
  r.rank = rank;
  r.ranks = ranks;
  if (r.rank != 0) {  // results come from rank 0 alone
    std::fflush(stdout);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
  }
  return r;
#else
  throw UsageError("started as one of " + std::to_string(launched_ranks()) +
                   " MPI ranks, but this build has no MPI (build with libopenmpi-dev installed)");
#endif
}

Session make_session(const Model& model, const SessionOptions& options, const Ranks& ranks) {
#ifdef PFRT_HAVE_MPI
  if (ranks.sharded()) return mpi::session(model, options);
#else
  (void)ranks;
#endif
  return Session(model, options);
}

void leave_ranks(const Ranks& ranks) {
#ifdef PFRT_HAVE_MPI
  if (ranks.sharded()) mpi::finalize();
#else
  (void)ranks;
#endif
}

}  // namespace pfrt::tools
