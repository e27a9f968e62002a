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
#if defined(PFRT_HAVE_MPI) && defined(PFRT_HAVE_NCCL)
#define PFRT_TOOLS_NCCL 1
#define OMPI_SKIP_MPICXX 1  // mpi.h's C API only (as libpfrt_mpi)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "pfrt/pfrt_nccl.hpp"
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

#ifdef PFRT_TOOLS_NCCL
// Rank 0's NCCL id, broadcast over MPI_COMM_WORLD with whether rank 0 could make one (MPI is only
// the bootstrap: the reductions go through NCCL).
pfrt_nccl_id shared_nccl_id(const Ranks& ranks) {
  struct {
    pfrt_nccl_id id;
    char error[384];
  } message{};
  if (ranks.rank == 0) {
    try {
      message.id = nccl::unique_id();
    } catch (const Error& e) {
      std::snprintf(message.error, sizeof message.error, "%s", e.what());
    }
  }
  const int rc = MPI_Bcast(&message, int(sizeof message), MPI_BYTE, 0, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) throw Error(PFRT_BACKEND_ERROR, "MPI_Bcast of the NCCL id failed");
  message.error[sizeof message.error - 1] = '\0';
  if (message.error[0] != '\0') {
    throw Error(PFRT_BACKEND_ERROR, std::string("rank 0 could not make an NCCL id: ") + message.error);
  }
  return message.id;
}
#endif

}  // namespace

void add_transport_option(ArgParser& args) {
  args.option("transport", "NAME",
              "under mpirun: how the ranks reduce, mpi (default) or nccl (each rank on GPU rank mod the GPUs)");
}

void read_transport(const ArgParser& args, Ranks& ranks) {
  const std::string name = args.value("transport", "mpi");
  if (name == "mpi") {
    ranks.transport = Transport::kMpi;
    return;
  }
  if (name != "nccl") throw UsageError("option '--transport': '" + name + "' is not mpi or nccl");
#ifndef PFRT_HAVE_MPI
  throw UsageError(
      "option '--transport nccl': this build has no MPI, which starts the ranks and shares the NCCL id "
      "(build with libopenmpi-dev installed)");
#endif
#ifndef PFRT_HAVE_NCCL
  throw UsageError(
      "option '--transport nccl': this build has no libpfrt_nccl (built when CMake finds CUDA and NCCL: "
      "configure says why not)");
#endif
  ranks.transport = Transport::kNccl;
}

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
#ifdef PFRT_TOOLS_NCCL
  if (ranks.sharded() && ranks.transport == Transport::kNccl) {
    const pfrt_nccl_id id = shared_nccl_id(ranks);
    return shard::session(model, options, nccl::transport(id, ranks.rank, ranks.ranks));
  }
#endif
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
