/* pfrt: inference runtime for Para-Former networks — C API.
 *
 * A model file (made by pfrt-convert) is opened once as a pfrt_model and may be shared by any
 * number of threads. Each thread that runs inference creates its own pfrt_session over it: a
 * session owns the buffers and backend state of one stream of inferences and is not
 * thread-safe. A session keeps its model alive, so pfrt_model_close may be called while
 * sessions still use it.
 *
 * Every function that can fail returns a pfrt_status; on failure pfrt_last_error() gives a
 * message naming what was wrong (file, tensor, field or argument). Nothing aborts.
 *
 * The ABI grows without breaking programs built against an older header: every struct the
 * caller fills or receives starts with struct_size (set by its _init function), and the
 * library reads and writes only that many bytes of it. Fields are only ever added at the end.
 * A field this library does not know (a newer header's) must be zero where the library reads
 * the struct, else the call fails with PFRT_UNSUPPORTED; where it writes, the bytes past the
 * fields it knows are zeroed. libpfrt.so.0 keeps every function of earlier versions.
 */
#ifndef PFRT_PFRT_H
#define PFRT_PFRT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define PFRT_API __declspec(dllexport)
#else
#define PFRT_API __attribute__((visibility("default")))
#endif

/* The version of this header; pfrt_version() gives the library's, "MAJOR.MINOR.PATCH". A
 * library of the same MAJOR and at least this MINOR runs a program built with this header. */
#define PFRT_VERSION_MAJOR 0
#define PFRT_VERSION_MINOR 2
#define PFRT_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define PFRT_DEPRECATED(use) __attribute__((deprecated("use " use)))
#else
#define PFRT_DEPRECATED(use)
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pfrt_status {
  PFRT_OK = 0,
  PFRT_INVALID_ARGUMENT = 1, /* a null pointer, a wrong size, an unknown option */
  PFRT_IO_ERROR = 2,         /* the file cannot be opened, read or mapped */
  PFRT_INVALID_MODEL = 3,    /* the file is not a valid pfrt model (corrupt, truncated, inconsistent) */
  PFRT_UNSUPPORTED = 4,      /* valid, but needs a newer runtime or a feature this build lacks */
  PFRT_BACKEND_ERROR = 5,    /* the backend failed (e.g. no GPU for the cuda backend) */
  PFRT_OUT_OF_MEMORY = 6,
  PFRT_CANCELLED = 7,         /* the run was cancelled (pfrt_session_cancel) */
  PFRT_DEADLINE_EXCEEDED = 8, /* the run's deadline passed */
  PFRT_INTERNAL_ERROR = 9
} pfrt_status;

typedef struct pfrt_model pfrt_model;
typedef struct pfrt_session pfrt_session;

/* Version of the library ("0.2.0": PFRT_VERSION_MAJOR.MINOR.PATCH of the header it was built
 * with) and the model format version it reads. */
PFRT_API const char* pfrt_version(void);
PFRT_API uint32_t pfrt_format_version(void);

/* Short name of a status ("invalid model", ...). */
PFRT_API const char* pfrt_status_string(pfrt_status status);

/* The message of the last failed call on this thread ("" if none). Valid until the next call
 * into pfrt on this thread. */
PFRT_API const char* pfrt_last_error(void);

/* Backends built into this library, fastest first: the name at `index`, NULL past the end. */
PFRT_API const char* pfrt_backend_name(size_t index);

/* PFRT_OK when the named backend is built in and can run on this machine; otherwise the reason
 * is in pfrt_last_error() (e.g. no CUDA device). */
PFRT_API pfrt_status pfrt_backend_check(const char* name);

/* ---- models ---------------------------------------------------------------------------- */

/* Reads the file into memory (a private copy: the file may be replaced, truncated or deleted
 * afterwards), verifies it (FlatBuffers verifier + semantic checks of every tensor against the
 * configuration) and returns a model. */
PFRT_API pfrt_status pfrt_model_open(const char* path, pfrt_model** out_model);

/* The same from bytes in memory; the bytes are copied, the caller may free them on return. */
PFRT_API pfrt_status pfrt_model_open_buffer(const void* data, size_t size, pfrt_model** out_model);

/* Releases the caller's reference; sessions created from the model keep it alive. NULL is ok. */
PFRT_API void pfrt_model_close(pfrt_model* model);

typedef enum pfrt_pooling { PFRT_POOLING_CLS = 0, PFRT_POOLING_MEAN = 1 } pfrt_pooling;
typedef enum pfrt_training {
  PFRT_TRAINING_UNKNOWN = 0,
  PFRT_TRAINING_PROGRESSIVE = 1, /* every prefix of branches 1..k was trained to predict */
  PFRT_TRAINING_PLAIN = 2
} pfrt_training;

/* How the GEMM weights are stored (LayerNorm, biases and embeddings are always f32). */
typedef enum pfrt_precision { PFRT_PRECISION_F32 = 0, PFRT_PRECISION_F16 = 1, PFRT_PRECISION_INT8 = 2 } pfrt_precision;
/* How the inputs of int8 GEMMs are quantised: not at all (f32, f16), or per row at run time. */
typedef enum pfrt_activation_quantization {
  PFRT_ACTIVATIONS_NOT_QUANTIZED = 0,
  PFRT_ACTIVATIONS_DYNAMIC_PER_ROW = 1
} pfrt_activation_quantization;

typedef struct pfrt_model_info {
  uint32_t struct_size; /* sizeof(pfrt_model_info): set by pfrt_model_info_init */
  uint32_t image_size;  /* input is channels x image_size x image_size floats */
  uint32_t channels;
  uint32_t patch_size;
  uint32_t embed_dim;
  uint32_t heads;
  uint32_t head_dim;
  uint32_t mlp_dim;
  uint32_t branches;
  uint32_t blocks_per_branch;
  uint32_t classes;
  uint32_t tokens; /* patches + 1 (class token) */
  pfrt_pooling pooling;
  pfrt_training training;
  uint64_t parameters;       /* number of weights */
  uint64_t flops;            /* operations (2 x multiply-adds) of one image through all branches:
                               * what the logits need (with cls pooling, the last block of a
                               * branch needs only row 0 past its keys and values) */
  uint64_t flops_per_branch; /* of one branch; flops = stem_head + branches x flops_per_branch */
  uint64_t file_size;        /* bytes of the model file (or buffer) */
  /* Added after 0.2 (read only when struct_size covers them). PFRT_PRECISION_INT8: weights symmetric per
   * output channel, activations as `activations` says. */
  pfrt_precision precision;
  pfrt_activation_quantization activations;
} pfrt_model_info;

PFRT_API void pfrt_model_info_init(pfrt_model_info* info);

/* Fills `info` (its struct_size set, by pfrt_model_info_init). */
PFRT_API pfrt_status pfrt_model_get_info(const pfrt_model* model, pfrt_model_info* info);

/* Label of a class, or NULL when the model stores no labels or the index is out of range. */
PFRT_API const char* pfrt_model_get_label(const pfrt_model* model, uint32_t class_index);

/* Model name and a metadata value by key (producer, producer_version, source_sha256, and the
 * converter's free-form entries); NULL when absent. */
PFRT_API const char* pfrt_model_get_name(const pfrt_model* model);
PFRT_API const char* pfrt_model_get_metadata(const pfrt_model* model, const char* key);

/* Per-channel mean and std of the input normalisation: the network's input is
 * (pixel / 255 - mean[c]) / std[c]. Each array has `channels` entries. */
PFRT_API const float* pfrt_model_get_input_mean(const pfrt_model* model);
PFRT_API const float* pfrt_model_get_input_std(const pfrt_model* model);

/* ---- sessions -------------------------------------------------------------------------- */

typedef struct pfrt_session_options {
  uint32_t struct_size;   /* sizeof(pfrt_session_options): set by pfrt_session_options_init */
  const char* backend;    /* "cpu", "reference", "cuda"; NULL: "cpu", the default. If the
                           * default cannot run, creation fails saying why; no other backend
                           * is used in its place */
  int32_t threads;        /* 0: every online core */
  uint64_t affinity_mask; /* bit i pins a worker to CPU i; 0: no pinning */
  /* How long, in microseconds, an idle worker thread spins (waiting for the next piece of work
   * of a run) before it sleeps: spinning answers in nanoseconds, sleeping frees the core for
   * other processes. -1 (what _init sets): pfrt's default (pfrt_session_describe reports it);
   * 0: never spin; at most 1000000. Read only when struct_size covers it. */
  int32_t spin_us;
} pfrt_session_options;

PFRT_API void pfrt_session_options_init(pfrt_session_options* options);

/* Creates a session (prepares the backend: packs weights, plans buffers). options may be NULL. */
PFRT_API pfrt_status pfrt_session_create(pfrt_model* model, const pfrt_session_options* options,
                                         pfrt_session** out_session);
PFRT_API void pfrt_session_destroy(pfrt_session* session);

/* Name of the backend the session runs on. */
PFRT_API const char* pfrt_session_get_backend(const pfrt_session* session);

/* Runs a batch. input: batch x channels x image_size x image_size normalised floats (see
 * pfrt_model_input_mean); input_floats must be a multiple of one image. logits: batch x classes
 * floats, logits_floats must be at least that. */
PFRT_API pfrt_status pfrt_session_run(pfrt_session* session, const float* input, size_t input_floats, float* logits,
                                      size_t logits_floats);

typedef enum pfrt_deadline_mode {
  /* The deadline passing fails the run with PFRT_DEADLINE_EXCEEDED. */
  PFRT_DEADLINE_FAIL = 0,
  /* Anytime inference: when the deadline passes, the logits of the longest prefix of branches
   * 1..k that all finished are returned (PFRT_OK, result.branches_used = k,
   * result.deadline_reached = 1). Only when not even one branch finished is the run failed
   * with PFRT_DEADLINE_EXCEEDED. Meaningful for progressively trained models
   * (pfrt_model_info.training). */
  PFRT_DEADLINE_BEST_PREFIX = 1
} pfrt_deadline_mode;

typedef struct pfrt_run_options {
  uint32_t struct_size; /* sizeof(pfrt_run_options): set by pfrt_run_options_init */
  uint32_t branches;    /* run only the prefix of branches 1..branches; 0: all */
  double budget_ms;     /* > 0: deadline this many ms after the run starts; 0: none */
  int64_t deadline_ns;  /* > 0: absolute deadline on CLOCK_MONOTONIC (std::chrono::steady_clock), ns */
  pfrt_deadline_mode deadline_mode;
} pfrt_run_options;

typedef struct pfrt_run_result {
  uint32_t struct_size;   /* sizeof(pfrt_run_result): set by pfrt_run_result_init */
  uint32_t branches_used; /* length of the prefix whose sum produced the logits */
  uint32_t batch;
  uint32_t deadline_reached; /* 1: a best-prefix answer cut short by the deadline */
  double elapsed_ms;         /* wall time of the run */
} pfrt_run_result;

PFRT_API void pfrt_run_options_init(pfrt_run_options* options);
PFRT_API void pfrt_run_result_init(pfrt_run_result* result);

/* pfrt_session_run with options (prefix evaluation, deadlines). options and result may be
 * NULL. Returns PFRT_CANCELLED when pfrt_session_cancel stopped it and PFRT_DEADLINE_EXCEEDED
 * when the deadline passed (see pfrt_deadline_mode); the session stays usable either way. */
PFRT_API pfrt_status pfrt_session_run_ex(pfrt_session* session, const float* input, size_t input_floats, float* logits,
                                         size_t logits_floats, const pfrt_run_options* options,
                                         pfrt_run_result* result);

/* Thread-safe: the run in progress on this session stops at its next check (between
 * operators and between branches) and returns PFRT_CANCELLED. No effect when none is running. */
PFRT_API pfrt_status pfrt_session_cancel(pfrt_session* session);

/* Where the time of the session's last run went (summed over its batch). */
typedef struct pfrt_profile {
  uint32_t struct_size; /* sizeof(pfrt_profile): set by pfrt_profile_init */
  uint32_t branches;    /* entries of branch_ms filled (the model's branch count, capped) */
  double stem_ms;       /* patch embedding */
  double branches_ms;   /* wall time of the branch phase */
  double head_ms;       /* merge, pooling, classifier */
  double longest_branch_ms;
} pfrt_profile;

PFRT_API void pfrt_profile_init(pfrt_profile* profile);

/* Fills `profile` and up to `branch_capacity` per-branch durations (may be NULL / 0). */
PFRT_API pfrt_status pfrt_session_get_profile(const pfrt_session* session, pfrt_profile* profile, double* branch_ms,
                                              size_t branch_capacity);

/* Kinds of stage of the execution plan, the rows of pfrt_session_get_stage_times. */
typedef enum pfrt_stage_kind {
  PFRT_STAGE_STEM = 0,       /* patch gather, embedding GEMM, class token and positions */
  PFRT_STAGE_QKV = 1,        /* the QKV GEMM (keys, values and the class-row query in a last block) */
  PFRT_STAGE_ATTENTION = 2,  /* softmax(q k^T) v */
  PFRT_STAGE_PROJECTION = 3, /* the attention output projection with its residual add */
  PFRT_STAGE_LAYERNORM = 4,  /* the blocks' LayerNorms */
  PFRT_STAGE_FC1_GELU = 5,   /* MLP fc1 with GELU */
  PFRT_STAGE_FC2 = 6,        /* MLP fc2 with its residual add */
  PFRT_STAGE_ADD = 7,        /* residual adds without a GEMM, pooling */
  PFRT_STAGE_HEAD = 8,       /* merge, LayerNorm, classifier */
  PFRT_STAGE_QUANTIZE = 9    /* int8 models, cpu backend: quantising the inputs of the GEMM stages
                              * above, the stem's included (timed apart from them). 0 elsewhere */
} pfrt_stage_kind;
#define PFRT_STAGE_KINDS 10

/* Time of one kind of stage in the session's last run: the stages' own durations summed over
 * the run, on whichever threads ran them (concurrent branches add up, so the sum can exceed
 * the run's wall time), and the operations they did (multiply-adds x 2). */
typedef struct pfrt_stage_time {
  uint32_t struct_size; /* sizeof(pfrt_stage_time): set by pfrt_stage_time_init */
  uint32_t kind;        /* pfrt_stage_kind */
  const char* name;     /* "stem", "qkv", "attention", ... (static storage) */
  double ms;
  uint64_t flops;
} pfrt_stage_time;

PFRT_API void pfrt_stage_time_init(pfrt_stage_time* time);

/* Fills times[0 .. min(capacity, kinds)) with the last run's time per kind of stage, in
 * pfrt_stage_kind order, and sets *count to the kinds this session times: PFRT_STAGE_KINDS on
 * the cpu and reference backends, 0 on a backend that does not time stages (cuda). Every entry
 * must be initialised with pfrt_stage_time_init (the entries lie times[0].struct_size bytes
 * apart). times may be NULL when capacity is 0, to ask for the count. */
PFRT_API pfrt_status pfrt_session_get_stage_times(const pfrt_session* session, pfrt_stage_time* times, size_t capacity,
                                                  size_t* count);

/* One line on how the session runs (backend, threads, kernels); valid while the session lives. */
PFRT_API const char* pfrt_session_describe(const pfrt_session* session);

/* Worker threads the session uses (the resolved value of pfrt_session_options.threads); 0 for
 * a NULL session. */
PFRT_API int32_t pfrt_session_get_threads(const pfrt_session* session);

/* ---- helpers --------------------------------------------------------------------------- */

/* Turns 8-bit pixels (height x width x channels, interleaved, the model's channel count and
 * image size) into the network's input (channels x height x width, normalised). */
PFRT_API pfrt_status pfrt_model_normalize_u8(const pfrt_model* model, const uint8_t* pixels_hwc, size_t pixel_count,
                                             float* input, size_t input_floats);

/* ---- earlier names ---------------------------------------------------------------------- */

/* The names of pfrt 0.1, kept for the programs built with them (same behaviour). */
PFRT_API PFRT_DEPRECATED("pfrt_model_get_label") const
    char* pfrt_model_label(const pfrt_model* model, uint32_t class_index);
PFRT_API PFRT_DEPRECATED("pfrt_model_get_name") const char* pfrt_model_name(const pfrt_model* model);
PFRT_API PFRT_DEPRECATED("pfrt_model_get_metadata") const
    char* pfrt_model_metadata(const pfrt_model* model, const char* key);
PFRT_API PFRT_DEPRECATED("pfrt_model_get_input_mean") const float* pfrt_model_input_mean(const pfrt_model* model);
PFRT_API PFRT_DEPRECATED("pfrt_model_get_input_std") const float* pfrt_model_input_std(const pfrt_model* model);
PFRT_API PFRT_DEPRECATED("pfrt_session_get_backend") const char* pfrt_session_backend(const pfrt_session* session);
PFRT_API PFRT_DEPRECATED("pfrt_session_get_profile") pfrt_status
    pfrt_session_profile(const pfrt_session* session, pfrt_profile* profile, double* branch_ms, size_t branch_capacity);
PFRT_API PFRT_DEPRECATED("pfrt_session_get_threads") uint32_t pfrt_session_threads(const pfrt_session* session);

#ifdef __cplusplus
}
#endif

#endif /* PFRT_PFRT_H */
