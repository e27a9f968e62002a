/* pfrt over NCCL: a pfrt_shard_transport (pfrt/pfrt_shard.h) whose ranks reduce through NCCL on
 * their GPUs. In libpfrt_nccl (link -lpfrt_nccl -lpfrt), built when CMake finds CUDA and NCCL
 * beside it. This header includes neither nccl.h nor MPI: how the ranks share the NCCL id (the
 * bootstrap) is the application's business; pfrt-run and pfrt-bench broadcast it over MPI.
 *
 *   pfrt_nccl_id id;
 *   if (rank == 0) pfrt_nccl_get_unique_id(&id);
 *   ... send id to every rank (e.g. MPI_Bcast of its 128 bytes) ...
 *   pfrt_shard_transport t;
 *   pfrt_nccl_transport_create(&id, rank, ranks, -1, 0, &t);  // on every rank; GPU rank mod count
 *   pfrt_session_create_sharded(model, &options, &t, &session);         // pfrt owns t now
 *
 * all_reduce copies the host values to a buffer on the transport's GPU, reduces them there with
 * ncclAllReduce (ncclFloat/ncclSum, ncclUint64/ncclMin) on the transport's own stream, and
 * copies them back. The communicator is non-blocking and every wait is polled against the
 * timeout: a rank that never comes makes the others fail with "no answer from the other ranks
 * within N ms" (the communicator is then aborted and the transport fails every later call).
 *
 * Functions that fail return an error status; pfrt_nccl_last_error() (this thread's last
 * failure in libpfrt_nccl) says why. */
#ifndef PFRT_PFRT_NCCL_H
#define PFRT_PFRT_NCCL_H

#include "pfrt/pfrt_shard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ncclUniqueId's bytes: rank 0 makes it, every rank of the job passes the same one. */
#define PFRT_NCCL_ID_BYTES 128
typedef struct pfrt_nccl_id {
  unsigned char bytes[PFRT_NCCL_ID_BYTES];
} pfrt_nccl_id;

/* A new id for one communicator (ncclGetUniqueId). Called on one rank. */
PFRT_API pfrt_status pfrt_nccl_get_unique_id(pfrt_nccl_id* out);

/* Joins the communicator `id` as `rank` of `ranks` on CUDA device `cuda_device` (-1: rank mod the
 * number of CUDA devices) and fills `out` with a transport for pfrt_session_create_sharded (which releases it). Collective: every rank
 * calls it with the same id and ranks. timeout_ms bounds every wait (joining included); 0: the
 * environment's PFRT_NCCL_TIMEOUT_MS, else 60000. Errors: PFRT_INVALID_ARGUMENT for a rank out
 * of range, ranks < 1 or a device index that does not exist; PFRT_BACKEND_ERROR when CUDA or
 * NCCL fails (no CUDA device, no answer from the other ranks in time, ...). On failure `out`
 * is left without functions (nothing to release). */
PFRT_API pfrt_status pfrt_nccl_transport_create(const pfrt_nccl_id* id, int32_t rank, int32_t ranks,
                                                int32_t cuda_device, uint32_t timeout_ms, pfrt_shard_transport* out);

/* Why this thread's last failed call into libpfrt_nccl failed ("" when none has). */
PFRT_API const char* pfrt_nccl_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* PFRT_PFRT_NCCL_H */
