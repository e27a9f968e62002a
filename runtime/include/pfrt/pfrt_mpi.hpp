// pfrt over MPI — C++ API over pfrt_mpi.h (header-only; link libpfrt_mpi).
//
//   auto [rank, ranks] = pfrt::mpi::world();              // initialises MPI if needed
//   pfrt::Session s = pfrt::mpi::session(model, options); // MPI_COMM_WORLD, on every rank
//   ...
//   pfrt::mpi::finalize();                                 // after the last session is gone
#ifndef PFRT_PFRT_MPI_HPP
#define PFRT_PFRT_MPI_HPP

#include <utility>

#include "pfrt/pfrt_mpi.h"
#include "pfrt/pfrt_shard.hpp"

namespace pfrt::mpi {

struct Options {
  const void* comm = nullptr;  // the address of an MPI_Comm; null: MPI_COMM_WORLD
  double timeout_ms = 0.0;     // 0: $PFRT_MPI_TIMEOUT_MS, else 60000
};

inline Session session(const Model& model, const SessionOptions& options = {}, const Options& mpi = {}) {
  const pfrt_session_options o = detail::c_options(options);
  pfrt_mpi_options m;
  pfrt_mpi_options_init(&m);
  m.comm = mpi.comm;
  m.timeout_ms = mpi.timeout_ms;
  pfrt_session* s = nullptr;
  detail::check(pfrt_mpi_session_create(model.get(), &o, &m, &s));
  return Session::adopt(model, s);
}

// {rank, ranks} of MPI_COMM_WORLD.
inline std::pair<int32_t, int32_t> world() {
  int32_t rank = 0, ranks = 1;
  if (pfrt_mpi_world(&rank, &ranks) != PFRT_OK) throw Error(PFRT_BACKEND_ERROR, "MPI could not start");
  return {rank, ranks};
}

inline void finalize() { pfrt_mpi_finalize(); }

}  // namespace pfrt::mpi

#endif  // PFRT_PFRT_MPI_HPP
