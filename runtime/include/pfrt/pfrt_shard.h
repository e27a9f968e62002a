/* pfrt: sharded sessions — one inference spread over several processes, boards or devices.
 *
 * A Para-Former's branches are independent and merged by a sum, and pooling is linear, so R
 * ranks can share one inference: every rank runs the stem and the branches it owns (branch b
 * belongs to rank b mod R), the pooled partial sums (embed_dim floats per image) are added
 * over the ranks, and every rank then runs the head and gets the same logits. A prefix of k
 * branches and a deadline keep their meaning: under a deadline the answer is the longest prefix
 * whose branches all finished, each on the rank that owns it.
 *
 * This header is MPI-free: the ranks talk through a pfrt_shard_transport, two functions the
 * application (or a library) provides. libpfrt_mpi provides one over MPI (pfrt/pfrt_mpi.h),
 * libpfrt_nccl one over NCCL on GPUs (pfrt/pfrt_nccl.h).
 *
 * A sharded session is a pfrt_session: pfrt_session_run_ex, _describe, _get_profile and
 * _destroy work on it as on any other. Its rules:
 *   - every rank opens the same model file (checked at creation: the files' bytes must match);
 *   - every rank makes the same runs in the same order, with the same batch size, prefix and
 *     deadline mode (checked at every run), and the same input (each rank runs the stem);
 *   - more ranks than the model has branches is an error (a rank would have nothing to do);
 *   - any error, on any rank, fails that run (or creation) on every rank with a message;
 *     a transport error (a rank that does not answer in time) leaves the session unusable.
 * Backends: cpu, reference and cuda (a rank on GPU rank mod the number of GPUs).
 */
#ifndef PFRT_PFRT_SHARD_H
#define PFRT_PFRT_SHARD_H

#include "pfrt/pfrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pfrt_shard_op {
  PFRT_SHARD_SUM_F32 = 0, /* float: the sum over the ranks */
  PFRT_SHARD_MIN_U64 = 1  /* uint64_t: the least value over the ranks */
} pfrt_shard_op;

/* How the ranks reach each other. Every rank calls all_reduce with the same op and count, in
 * the same order, from the thread that runs the session. */
typedef struct pfrt_shard_transport {
  uint32_t struct_size; /* sizeof(pfrt_shard_transport) */
  int32_t rank;         /* 0 .. ranks-1 */
  int32_t ranks;        /* at least 1 */
  void* context;        /* passed to the functions below */
  /* Replaces the `count` values at `data` by their combination over every rank. Returns
   * PFRT_OK, or an error status with a message (NUL-terminated, at most message_size bytes,
   * e.g. "no answer from the other ranks within 30000 ms"). It must return within a bounded
   * time even when another rank never calls it. */
  pfrt_status (*all_reduce)(void* context, pfrt_shard_op op, void* data, size_t count, char* message,
                            size_t message_size);
  /* Called once when the session no longer needs the transport (destroyed, or its creation
   * failed); may be NULL. */
  void (*release)(void* context);
  const char* name; /* "mpi": for pfrt_session_describe; may be NULL */
} pfrt_shard_transport;

/* Creates this rank's session of a sharded inference. Collective: every rank of the transport
 * calls it. Whatever it returns, pfrt takes over the transport (calls release once). A failure
 * on one rank (a bad option, a different model file) fails the call on every rank. */
PFRT_API pfrt_status pfrt_session_create_sharded(pfrt_model* model, const pfrt_session_options* options,
                                                 const pfrt_shard_transport* transport, pfrt_session** out_session);

/* Where the last run's time went on this rank, beyond pfrt_session_get_profile. */
typedef struct pfrt_shard_profile {
  uint32_t struct_size; /* sizeof(pfrt_shard_profile): set by pfrt_shard_profile_init */
  int32_t rank;
  int32_t ranks;
  uint32_t branches_owned; /* branches of the last run's prefix that this rank owns */
  /* The exchange after the branch phase that agrees on the answer (prefix, stop reason,
   * checks): it also waits for the slowest rank, so it holds the ranks' imbalance. */
  double agree_ms;
  double reduce_ms; /* the sum of the pooled partial sums (batch x embed_dim floats) */
} pfrt_shard_profile;

PFRT_API void pfrt_shard_profile_init(pfrt_shard_profile* profile);

/* Fills `profile` for a sharded session; PFRT_INVALID_ARGUMENT for any other session. */
PFRT_API pfrt_status pfrt_session_get_shard_profile(const pfrt_session* session, pfrt_shard_profile* profile);

#ifdef __cplusplus
}
#endif

#endif /* PFRT_PFRT_SHARD_H */
