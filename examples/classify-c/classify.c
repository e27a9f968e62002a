/* classify: the smallest C program over pfrt. Opens a model, runs it on the images of a file
 * of floats (each channels x size x size, already normalised, little-endian f32), or on one
 * image of zeros when no file is given, and prints each image's top class.
 *   classify MODEL.pfrt [IMAGES.f32]
 */
#include <pfrt/pfrt.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char* what) {
  fprintf(stderr, "classify: %s: %s\n", what, pfrt_last_error());
  return 1;
}

/* Reads the whole file into a malloc'd buffer of floats; NULL (with a message) on failure. */
static float* read_floats(const char* path, size_t* count) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "classify: cannot open %s\n", path);
    return NULL;
  }
  float* data = NULL;
  long bytes = -1;
  if (fseek(f, 0, SEEK_END) == 0) bytes = ftell(f);
  if (bytes < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "classify: cannot read %s\n", path);
  } else if (bytes == 0 || bytes % (long)sizeof(float) != 0) {
    fprintf(stderr, "classify: %s holds %ld bytes, not a whole number of floats\n", path, bytes);
  } else if (!(data = malloc((size_t)bytes)) || fread(data, 1, (size_t)bytes, f) != (size_t)bytes) {
    fprintf(stderr, "classify: cannot read %s\n", path);
    free(data);
    data = NULL;
  } else {
    *count = (size_t)bytes / sizeof(float);
  }
  fclose(f);
  return data;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: classify MODEL.pfrt [IMAGES.f32]\n");
    return 2;
  }
  pfrt_model* model = NULL;
  if (pfrt_model_open(argv[1], &model) != PFRT_OK) return fail("cannot open the model");
  pfrt_model_info info;
  pfrt_model_info_init(&info);
  if (pfrt_model_get_info(model, &info) != PFRT_OK) return fail("cannot read the model's description");
  const size_t image = (size_t)info.channels * info.image_size * info.image_size;

  size_t count = image;
  float* input = argc == 3 ? read_floats(argv[2], &count) : calloc(image, sizeof(float));
  if (!input) return 1;
  if (count % image != 0) {
    fprintf(stderr, "classify: %s holds %zu floats, not a multiple of one %ux%ux%u image (%zu)\n", argv[2], count,
            info.channels, info.image_size, info.image_size, image);
    return 1;
  }
  const size_t batch = count / image;
  float* logits = malloc(batch * info.classes * sizeof(float));

  pfrt_session* session = NULL;
  int status = 1;
  if (!logits) {
    fprintf(stderr, "classify: out of memory\n");
  } else if (pfrt_session_create(model, NULL, &session) != PFRT_OK) {
    fail("cannot create a session");
  } else if (pfrt_session_run(session, input, count, logits, batch * info.classes) != PFRT_OK) {
    fail("the run failed");
  } else {
    for (size_t b = 0; b < batch; ++b) {
      const float* l = logits + b * info.classes;
      uint32_t best = 0;
      for (uint32_t k = 1; k < info.classes; ++k) {
        if (l[k] > l[best]) best = k;
      }
      const char* label = pfrt_model_get_label(model, best);
      printf("image %zu: class %u%s%s%s (logit %.4f)\n", b, best, label ? " \"" : "", label ? label : "",
             label ? "\"" : "", (double)l[best]);
    }
    status = 0;
  }
  pfrt_session_destroy(session);
  pfrt_model_close(model);
  free(logits);
  free(input);
  return status;
}
