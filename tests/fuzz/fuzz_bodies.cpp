#include "fuzz_bodies.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config_json.hpp"
#include "convert_error.hpp"
#include "pfrt/pfrt.h"
#include "safetensors_reader.hpp"

namespace pfrt::fuzz {

namespace {

[[noreturn]] void violated(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz expectation violated: %s %s\n", what, detail.c_str());
  std::abort();
}

// A failed call must say why.
void expect_message(pfrt_status status) {
  if (status != PFRT_OK && pfrt_last_error()[0] == '\0') violated("an error without a message, status", pfrt_status_string(status));
}

// Running models of any valid size is a question of resources, not of memory safety: only
// models whose run is cheap are run (a few million operations, a few MB of activations).
constexpr uint64_t kMaxRunFlops = 20'000'000;
constexpr uint64_t kMaxInputFloats = 1u << 18;

void exercise(pfrt_model* model) {
  pfrt_model_info info{};
  if (pfrt_model_get_info(model, &info) != PFRT_OK) violated("get_info failed on an open model", pfrt_last_error());
  (void)pfrt_model_name(model);
  (void)pfrt_model_metadata(model, "producer");
  for (uint32_t k = 0; k < info.classes && k < 4; ++k) (void)pfrt_model_label(model, k);
  (void)pfrt_model_label(model, info.classes);
  const float* mean = pfrt_model_input_mean(model);
  const float* std_dev = pfrt_model_input_std(model);
  if (mean == nullptr || std_dev == nullptr) violated("no input normalisation on an open model");

  const uint64_t image = uint64_t{info.channels} * info.image_size * info.image_size;
  if (info.flops > kMaxRunFlops || image > kMaxInputFloats) return;
  pfrt_session_options options;
  pfrt_session_options_init(&options);
  options.backend = "reference";
  options.threads = 1;
  pfrt_session* session = nullptr;
  const pfrt_status created = pfrt_session_create(model, &options, &session);
  expect_message(created);
  if (created != PFRT_OK) return;
  const size_t batch = 2;
  std::vector<float> input(batch * image, 0.0f), logits(batch * info.classes);
  expect_message(pfrt_session_run(session, input.data(), input.size(), logits.data(), logits.size()));
  pfrt_run_options run_options;
  pfrt_run_options_init(&run_options);
  run_options.branches = 1;
  expect_message(pfrt_session_run_ex(session, input.data(), image, logits.data(), logits.size(), &run_options, nullptr));
  pfrt_session_destroy(session);
}

}  // namespace

void model_buffer(const uint8_t* data, size_t size) {
  pfrt_model* model = nullptr;
  const pfrt_status status = pfrt_model_open_buffer(size ? static_cast<const void*>(data) : "", size, &model);
  expect_message(status);
  if (status != PFRT_OK) {
    if (model != nullptr) violated("a failed open returned a model");
    return;
  }
  exercise(model);
  pfrt_model_close(model);
}

void model_file(const uint8_t* data, size_t size) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/pfrt-fuzz-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) violated("cannot create a temporary file", path);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) violated("cannot write the temporary file", path);
    done += size_t(n);
  }
  ::close(fd);

  pfrt_model* from_file = nullptr;
  const pfrt_status file_status = pfrt_model_open(path.c_str(), &from_file);
  expect_message(file_status);
  ::unlink(path.c_str());  // the model holds its own copy
  pfrt_model* from_buffer = nullptr;
  const pfrt_status buffer_status = pfrt_model_open_buffer(size ? static_cast<const void*>(data) : "", size, &from_buffer);
  // An empty file is refused before it is read; an empty buffer by the envelope check.
  if (file_status != buffer_status && size != 0) {
    violated("file and buffer disagree:", std::string(pfrt_status_string(file_status)) + " vs " +
                                              pfrt_status_string(buffer_status));
  }
  pfrt_model_close(from_buffer);
  if (from_file != nullptr) {
    exercise(from_file);
    pfrt_model_close(from_file);
  }
}

void safetensors(const uint8_t* data, size_t size) {
  try {
    const convert::SafetensorsFile file =
        convert::SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "<fuzz>");
    for (const auto& entry : file.tensors()) {
      const std::vector<float> values = file.to_f32(entry.first);
      if (values.size() * sizeof(float) > entry.second.bytes * 2 + 8) violated("more floats than the tensor's bytes");
    }
  } catch (const convert::ConvertError& e) {
    if (e.what()[0] == '\0') violated("a ConvertError without a message");
  }
}

void config_json(const uint8_t* data, size_t size) {
  try {
    const convert::ParsedConfig parsed =
        convert::parse_config_json(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
    (void)format::operation_count(parsed.model);
  } catch (const convert::ConvertError& e) {
    if (e.what()[0] == '\0') violated("a ConvertError without a message");
  }
}

}  // namespace pfrt::fuzz
