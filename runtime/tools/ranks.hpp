// The tools as ranks of an MPI job: `mpirun -n R pfrt-run MODEL IMAGE...` and `mpirun -n R
// pfrt-bench MODEL` shard the model's branches over the R processes (pfrt/pfrt_mpi.h). A
// process started by mpirun (its environment says how many ranks the job has) with more than
// one rank joins MPI_COMM_WORLD; then only rank 0 prints results (the other ranks' stdout goes
// to /dev/null), while every rank reports its errors on stderr. Without MPI in the build, a
// job of several ranks is refused.
//
// --transport says how the ranks reduce: mpi (default), or nccl (pfrt/pfrt_nccl.h: each rank on
// GPU rank mod the number of GPUs, MPI only sharing rank 0's NCCL id), where both were built.
#pragma once

#include <cstdint>

#include "args.hpp"
#include "pfrt/pfrt.hpp"

namespace pfrt::tools {

enum class Transport { kMpi, kNccl };

struct Ranks {
  int32_t rank = 0;
  int32_t ranks = 1;
  Transport transport = Transport::kMpi;
  bool sharded() const { return ranks > 1; }
};

// Declares --transport; after parsing, reads it into `ranks` (a UsageError for an unknown name or
// a transport this build lacks, naming what is missing).
void add_transport_option(ArgParser& args);
void read_transport(const ArgParser& args, Ranks& ranks);

// This process's place in an MPI job ({0, 1} when not started as one of several ranks).
Ranks join_ranks();
// A session of `model`: sharded over the job's ranks when there are several, else a plain one.
Session make_session(const Model& model, const SessionOptions& options, const Ranks& ranks);
// Ends MPI if join_ranks() started it (after every session is destroyed).
void leave_ranks(const Ranks& ranks);

}  // namespace pfrt::tools
