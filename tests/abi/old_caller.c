/* A program built against pfrt 0.1's header (tests/abi/pfrt-0.1.0/pfrt/pfrt.h, frozen) and
 * linked as a 0.1 binary is (its references bound to version node PFRT_0), run with the current
 * libpfrt.so.0. It uses every function and struct of that header the way a 0.1 caller did, with
 * canary bytes after each struct the library writes, and checks the answers against the frozen
 * version-1 model's known shape and PyTorch logits.
 *   old_caller tests/data/v1
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pfrt/pfrt.h>

static int failures = 0;

#define EXPECT(cond)                                                                         \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "old_caller: line %d: %s (%s)\n", __LINE__, #cond, pfrt_last_error()); \
      ++failures;                                                                            \
    }                                                                                        \
  } while (0)

#define CANARY 0x5a

/* A struct of the 0.1 layout followed by 64 canary bytes the library must not write. */
#define GUARDED(type, name) \
  struct {                  \
    type value;             \
    unsigned char tail[64]; \
  } name;                   \
  memset(&name, CANARY, sizeof(name))

static int intact(const unsigned char* tail) {
  for (int i = 0; i < 64; ++i) {
    if (tail[i] != CANARY) return 0;
  }
  return 1;
}

static float* read_floats(const char* path, size_t count) {
  float* values = malloc(count * sizeof(float));
  FILE* f = fopen(path, "rb");
  if (!values || !f || fread(values, sizeof(float), count, f) != count) {
    fprintf(stderr, "old_caller: cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(f);
  return values;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: old_caller DATA_DIR (tests/data/v1)\n");
    return 2;
  }
  char path[4096];
  EXPECT(strncmp(pfrt_version(), "0.", 2) == 0);
  EXPECT(pfrt_format_version() >= 1);
  EXPECT(strcmp(pfrt_status_string(PFRT_INVALID_MODEL), "invalid model") == 0);
  EXPECT(strcmp(pfrt_backend_name(0), "cpu") == 0);
  EXPECT(pfrt_backend_check("reference") == PFRT_OK);

  pfrt_model* model = NULL;
  snprintf(path, sizeof(path), "%s/tiny.pfrt", argv[1]);
  if (pfrt_model_open(path, &model) != PFRT_OK) {
    fprintf(stderr, "old_caller: %s\n", pfrt_last_error());
    return 1;
  }

  /* 0.1's pfrt_model_info: no struct_size, written whole. */
  GUARDED(pfrt_model_info, info);
  EXPECT(pfrt_model_get_info(model, &info.value) == PFRT_OK);
  EXPECT(info.value.image_size == 28 && info.value.channels == 1 && info.value.patch_size == 7);
  EXPECT(info.value.embed_dim == 16 && info.value.heads == 2 && info.value.head_dim == 8 && info.value.mlp_dim == 32);
  EXPECT(info.value.branches == 2 && info.value.blocks_per_branch == 1 && info.value.classes == 10);
  EXPECT(info.value.tokens == 17 && info.value.pooling == PFRT_POOLING_CLS);
  EXPECT(info.value.parameters > 0 && info.value.flops > 2 * info.value.flops_per_branch);
  EXPECT(info.value.file_size == 26880);
  EXPECT(intact(info.tail));
  EXPECT(pfrt_model_get_info(model, NULL) == PFRT_INVALID_ARGUMENT);

  EXPECT(pfrt_model_name(model) != NULL);
  EXPECT(pfrt_model_metadata(model, "producer") != NULL);
  EXPECT(pfrt_model_metadata(model, "no such key") == NULL);
  EXPECT(pfrt_model_label(model, 99) == NULL);
  EXPECT(pfrt_model_input_mean(model) != NULL && pfrt_model_input_std(model) != NULL);

  /* 0.1's session options, run options and run result. */
  pfrt_session_options options;
  pfrt_session_options_init(&options);
  EXPECT(options.struct_size == sizeof(options) && options.spin_us == -1);
  options.backend = "reference";
  options.threads = 1;
  pfrt_session* session = NULL;
  EXPECT(pfrt_session_create(model, &options, &session) == PFRT_OK);
  if (session == NULL) return 1;
  EXPECT(strcmp(pfrt_session_backend(session), "reference") == 0);
  EXPECT(pfrt_session_threads(session) == 1);
  EXPECT(pfrt_session_describe(session) != NULL);

  snprintf(path, sizeof(path), "%s/input.f32", argv[1]);
  float* input = read_floats(path, 2 * 784);
  snprintf(path, sizeof(path), "%s/logits.f32", argv[1]);
  float* expected = read_floats(path, 2 * 10);
  float logits[20];
  EXPECT(pfrt_session_run(session, input, 2 * 784, logits, 20) == PFRT_OK);
  for (int i = 0; i < 20; ++i) EXPECT(fabsf(logits[i] - expected[i]) <= 1e-4f * fmaxf(1.0f, fabsf(expected[i])));

  pfrt_run_options run;
  pfrt_run_options_init(&run);
  run.branches = 1;
  GUARDED(pfrt_run_result, result);
  result.value.struct_size = sizeof(result.value);
  EXPECT(pfrt_session_run_ex(session, input, 784, logits, 10, &run, &result.value) == PFRT_OK);
  EXPECT(result.value.branches_used == 1 && result.value.batch == 1 && result.value.deadline_reached == 0);
  EXPECT(intact(result.tail));

  GUARDED(pfrt_profile, profile);
  profile.value.struct_size = sizeof(profile.value);
  double branch_ms[2] = {-1.0, -1.0};
  EXPECT(pfrt_session_profile(session, &profile.value, branch_ms, 2) == PFRT_OK);
  EXPECT(profile.value.branches == 2 && branch_ms[0] >= 0.0);
  EXPECT(intact(profile.tail));

  /* The default backend, as a 0.1 program asks for it. */
  pfrt_session* by_default = NULL;
  EXPECT(pfrt_session_create(model, NULL, &by_default) == PFRT_OK);
  if (by_default) EXPECT(strcmp(pfrt_session_backend(by_default), "cpu") == 0);
  EXPECT(pfrt_session_cancel(by_default) == PFRT_OK);
  pfrt_session_destroy(by_default);

  uint8_t pixels[784];
  memset(pixels, 128, sizeof(pixels));
  EXPECT(pfrt_model_normalize_u8(model, pixels, 784, input, 784) == PFRT_OK);
  pfrt_session_destroy(session);
  pfrt_model_close(model);
  free(input);
  free(expected);
  if (failures) {
    fprintf(stderr, "old_caller: %d check(s) failed\n", failures);
    return 1;
  }
  printf("old_caller: every pfrt 0.1 function and struct works with pfrt %s\n", pfrt_version());
  return 0;
}
