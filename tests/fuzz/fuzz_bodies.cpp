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
  if (status != PFRT_OK && pfrt_last_error()[0] == '\0')
    violated("an error without a message, status", pfrt_status_string(status));
}

// Running models of any valid size is a question of resources, not of memory safety: only
// models whose run is cheap are run (a few million operations, a few MB of activations).
constexpr uint64_t kMaxRunFlops = 20'000'000;
constexpr uint64_t kMaxInputFloats = 1u << 18;

void exercise(pfrt_model* model) {
  pfrt_model_info info;
  pfrt_model_info_init(&info);
  if (pfrt_model_get_info(model, &info) != PFRT_OK) violated("get_info failed on an open model", pfrt_last_error());
  (void)pfrt_model_get_name(model);
  (void)pfrt_model_get_metadata(model, "producer");
  for (uint32_t k = 0; k < info.classes && k < 4; ++k) (void)pfrt_model_get_label(model, k);
  (void)pfrt_model_get_label(model, info.classes);
  const float* mean = pfrt_model_get_input_mean(model);
  const float* std_dev = pfrt_model_get_input_std(model);
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
  expect_message(
      pfrt_session_run_ex(session, input.data(), image, logits.data(), logits.size(), &run_options, nullptr));
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

// One temporary file per process, rewritten for every input and removed at exit: creating and
// unlinking a file per input costs more than the rest of the input's work (directory updates
// in the file system's journal), which made long runs several times slower. A TMPDIR on a
// tmpfs (/dev/shm) takes the file system out of the measurement altogether.
class TempFile {
 public:
  TempFile() {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/pfrt-fuzz-XXXXXX";
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) violated("cannot create a temporary file", path_);
  }
  ~TempFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Written in place, then cut to length (cutting to 0 first would make ext4 flush the file
  // to disk on every input: its auto_da_alloc heuristic for files rewritten after truncation).
  void replace_contents(const uint8_t* data, size_t size) {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, off_t(done));
      if (n <= 0) violated("cannot write the temporary file", path_);
      done += size_t(n);
    }
    truncate(size);
  }
  void truncate(size_t size) {
    if (::ftruncate(fd_, off_t(size)) != 0) violated("cannot truncate the temporary file", path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

void model_file(const uint8_t* data, size_t size) {
  static TempFile file;
  file.replace_contents(data, size);

  pfrt_model* from_file = nullptr;
  const pfrt_status file_status = pfrt_model_open(file.path().c_str(), &from_file);
  expect_message(file_status);
  file.truncate(size / 2);  // the model holds its own copy: cutting the file must not matter
  pfrt_model* from_buffer = nullptr;
  const pfrt_status buffer_status =
      pfrt_model_open_buffer(size ? static_cast<const void*>(data) : "", size, &from_buffer);
  // An empty file is refused before it is read; an empty buffer by the envelope check.
  if (file_status != buffer_status && size != 0) {
    violated("file and buffer disagree:",
             std::string(pfrt_status_string(file_status)) + " vs " + pfrt_status_string(buffer_status));
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
