/* pfrt over MPI: sharded sessions (pfrt/pfrt_shard.h) whose ranks are the processes of an MPI
 * communicator. In libpfrt_mpi (link -lpfrt_mpi -lpfrt and MPI's C library, e.g. with mpicc),
 * built when CMake finds MPI. This header does not include mpi.h: the communicator is passed
 * by address, so a program that does not shard needs no MPI at all.
 *
 *   pfrt_mpi_options mpi;
 *   pfrt_mpi_options_init(&mpi);          // MPI_COMM_WORLD; pfrt initialises MPI if needed
 *   pfrt_session* s;
 *   pfrt_mpi_session_create(model, &options, &mpi, &s);   // on every rank
 *   pfrt_session_run_ex(s, ...);          // on every rank, same runs: same logits everywhere
 *   pfrt_session_destroy(s);
 *   pfrt_mpi_finalize();                  // when pfrt initialised MPI
 *
 * Every collective is nonblocking and polled against a timeout (spinning briefly, then
 * sleeping between polls): a rank that never comes makes the others fail with a message
 * instead of waiting forever. Calls into MPI come from the thread that calls pfrt: an
 * application that initialises MPI itself asks for MPI_THREAD_SERIALIZED, or runs its sharded
 * sessions on the main thread with MPI_THREAD_FUNNELED. */
#ifndef PFRT_PFRT_MPI_H
#define PFRT_PFRT_MPI_H

#include "pfrt/pfrt_shard.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pfrt_mpi_options {
  uint32_t struct_size; /* sizeof(pfrt_mpi_options): set by pfrt_mpi_options_init */
  /* The address of the application's MPI_Comm; the session works on a duplicate of it.
   * NULL: MPI_COMM_WORLD, initialising MPI (MPI_THREAD_SERIALIZED) when it is not yet. */
  const void* comm;
  /* How long one collective may wait for the other ranks, in ms; past it the call fails and
   * the session is unusable. 0: the environment's PFRT_MPI_TIMEOUT_MS, else 60000. */
  double timeout_ms;
} pfrt_mpi_options;

PFRT_API void pfrt_mpi_options_init(pfrt_mpi_options* options);

/* Creates this rank's sharded session (pfrt_session_create_sharded over MPI). Collective over
 * the communicator. Errors, including MPI's, are in pfrt_last_error(). */
PFRT_API pfrt_status pfrt_mpi_session_create(pfrt_model* model, const pfrt_session_options* options,
                                             const pfrt_mpi_options* mpi, pfrt_session** out_session);

/* This process's rank in MPI_COMM_WORLD and their number, initialising MPI when it is not yet
 * (what a program needs before its sessions, e.g. to print on rank 0 only). PFRT_BACKEND_ERROR
 * when MPI cannot start (MPI says why on stderr). */
PFRT_API pfrt_status pfrt_mpi_world(int32_t* rank, int32_t* ranks);

/* Finalises MPI when pfrt initialised it, after the process's last sharded session is
 * destroyed; no effect otherwise (the application finalises what it initialised). */
PFRT_API void pfrt_mpi_finalize(void);

#ifdef __cplusplus
}
#endif

#endif /* PFRT_PFRT_MPI_H */
