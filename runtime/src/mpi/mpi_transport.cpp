// libpfrt_mpi: a pfrt_shard_transport over an MPI communicator (pfrt/pfrt_mpi.h). Uses only
// libpfrt's C API, so the runtime itself stays MPI-free.
//
// The session's collectives run on a duplicate of the application's communicator (its own
// traffic cannot mix with the application's) whose errors are returned, not fatal
// (MPI_ERRORS_RETURN). Each is nonblocking (MPI_Iallreduce, MPI_Comm_idup) and polled with MPI_Test
// until it completes or the timeout passes (transport/collective_wait.hpp). A collective that timed out cannot be
// cancelled (MPI has no way to): the transport is then broken, its communicator is not freed
// and every later call fails at once.
#include "pfrt/pfrt_mpi.h"

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "transport/collective_wait.hpp"

namespace {

using pfrt::transport::kDefaultTimeoutMs;

bool g_initialised_by_pfrt = false;

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, size_t(length));
}

// MPI started (by the application, or here with MPI_THREAD_SERIALIZED); empty, or why not.
std::string ensure_mpi() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (finalised) return "MPI is already finalised";
  if (initialised) return {};
  int provided = 0;
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  if (rc != MPI_SUCCESS) return "MPI_Init_thread failed: " + mpi_error(rc);
  g_initialised_by_pfrt = true;
  return {};
}

// One rank's link: a duplicate communicator, the timeout, and why it broke (if it did).
struct Link {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, ranks = 1;
  double timeout_ms = kDefaultTimeoutMs;
  std::string error;  // set: every call fails with it (creation failed, or a collective timed out)
};

// Polls `request` until it completes, fails or `timeout_ms` passes; empty, or why not.
std::string wait(MPI_Request& request, double timeout_ms) {
  const auto test = [&request](std::string& error) {
    int done = 0;
    const int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) error = mpi_error(rc);
    return rc == MPI_SUCCESS && done != 0;
  };
  return pfrt::transport::wait_for(test, timeout_ms, "PFRT_MPI_TIMEOUT_MS");
}

pfrt_status all_reduce(void* context, pfrt_shard_op op, void* data, size_t count, char* message, size_t message_size) {
  Link* link = static_cast<Link*>(context);
  if (link->error.empty() && count > size_t(INT32_MAX)) link->error = "too many values for one MPI reduction";
  if (link->error.empty()) {
    MPI_Request request = MPI_REQUEST_NULL;
    const bool sum = op == PFRT_SHARD_SUM_F32;
    const int rc = MPI_Iallreduce(MPI_IN_PLACE, data, int(count), sum ? MPI_FLOAT : MPI_UINT64_T,
                                  sum ? MPI_SUM : MPI_MIN, link->comm, &request);
    link->error = rc != MPI_SUCCESS ? "MPI_Iallreduce failed: " + mpi_error(rc) : wait(request, link->timeout_ms);
    if (link->error.empty()) return PFRT_OK;
  }
  std::snprintf(message, message_size, "%s", link->error.c_str());
  return PFRT_BACKEND_ERROR;
}

void release(void* context) {
  Link* link = static_cast<Link*>(context);
  // A broken link may have a collective in flight on its communicator: it is left alone.
  if (link->comm != MPI_COMM_NULL && link->error.empty()) MPI_Comm_free(&link->comm);
  delete link;
}

// The link for `options`; what fails is kept in link->error, which the session's first
// collective (at creation) reports through libpfrt, on every rank that sees it.
Link* open_link(const pfrt_mpi_options& options) {
  Link* link = new Link;
  link->timeout_ms =
      options.timeout_ms > 0 ? options.timeout_ms : pfrt::transport::timeout_from_environment("PFRT_MPI_TIMEOUT_MS");
  if (options.comm == nullptr) link->error = ensure_mpi();
  if (!link->error.empty()) return link;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    link->error = "MPI is not initialised: initialise it before passing a communicator (or pass none)";
    return link;
  }
  int level = MPI_THREAD_SINGLE, main_thread = 0;
  MPI_Query_thread(&level);
  MPI_Is_thread_main(&main_thread);
  if (level < MPI_THREAD_SERIALIZED && !(main_thread && level >= MPI_THREAD_FUNNELED)) {
    link->error =
        "MPI was initialised with a thread level too low for calls from this thread (ask for "
        "MPI_THREAD_SERIALIZED, or MPI_THREAD_FUNNELED and run on the main thread)";
    return link;
  }
  const MPI_Comm parent = options.comm == nullptr ? MPI_COMM_WORLD : *static_cast<const MPI_Comm*>(options.comm);
  MPI_Comm_rank(parent, &link->rank);
  MPI_Comm_size(parent, &link->ranks);
  MPI_Request request = MPI_REQUEST_NULL;
  const int rc = MPI_Comm_idup(parent, &link->comm, &request);
  link->error = rc != MPI_SUCCESS ? "MPI_Comm_idup failed: " + mpi_error(rc) : wait(request, link->timeout_ms);
  if (link->error.empty()) MPI_Comm_set_errhandler(link->comm, MPI_ERRORS_RETURN);
  return link;
}

}  // namespace

extern "C" {

void pfrt_mpi_options_init(pfrt_mpi_options* options) {
  if (options == nullptr) return;
  std::memset(static_cast<void*>(options), 0, sizeof *options);
  options->struct_size = sizeof *options;
}

pfrt_status pfrt_mpi_session_create(pfrt_model* model, const pfrt_session_options* options, const pfrt_mpi_options* mpi,
                                    pfrt_session** out_session) {
  pfrt_mpi_options o;
  pfrt_mpi_options_init(&o);
  if (mpi != nullptr) std::memcpy(&o, mpi, std::min<size_t>(sizeof o, mpi->struct_size));
  Link* link = nullptr;
  try {
    if (mpi != nullptr && mpi->struct_size < offsetof(pfrt_mpi_options, timeout_ms)) {
      link = new Link;
      link->error = "pfrt_mpi_options.struct_size is not set (call pfrt_mpi_options_init)";
    } else {
      link = open_link(o);
    }
  } catch (const std::bad_alloc&) {
    return PFRT_OUT_OF_MEMORY;
  }
  pfrt_shard_transport t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.rank = link->rank;
  t.ranks = link->ranks;
  t.context = link;
  t.all_reduce = &all_reduce;
  t.release = &release;
  t.name = "mpi";
  return pfrt_session_create_sharded(model, options, &t, out_session);
}

pfrt_status pfrt_mpi_world(int32_t* rank, int32_t* ranks) {
  if (rank == nullptr || ranks == nullptr || !ensure_mpi().empty()) return PFRT_BACKEND_ERROR;
  int r = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  *rank = r;
  *ranks = n;
  return PFRT_OK;
}

void pfrt_mpi_finalize(void) {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (g_initialised_by_pfrt && !finalised) MPI_Finalize();
}

}  // extern "C"
