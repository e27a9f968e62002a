// pfrt: inference runtime for Para-Former networks — C++ API.
//
// A header-only layer over the C API (pfrt.h), so the library's ABI is the C one. Errors are
// thrown as pfrt::Error carrying the pfrt_status and the message.
//
//   pfrt::Model model = pfrt::Model::open("model.pfrt");
//   pfrt::Session session(model);                  // default backend, all cores
//   std::vector<float> logits = session.run(input); // input: batch x C x S x S floats
#ifndef PFRT_PFRT_HPP
#define PFRT_PFRT_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pfrt/pfrt.h"

namespace pfrt {

class Error : public std::runtime_error {
 public:
  Error(pfrt_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  pfrt_status status() const noexcept { return status_; }

 private:
  pfrt_status status_;
};

namespace detail {
inline void check(pfrt_status status) {
  if (status != PFRT_OK) throw Error(status, pfrt_last_error());
}
}  // namespace detail

using ModelInfo = pfrt_model_info;

// A verified model; cheap to copy (copies share one underlying model).
class Model {
 public:
  static Model open(const std::string& path) {
    pfrt_model* m = nullptr;
    detail::check(pfrt_model_open(path.c_str(), &m));
    return Model(m);
  }
  static Model from_buffer(const void* data, size_t size) {
    pfrt_model* m = nullptr;
    detail::check(pfrt_model_open_buffer(data, size, &m));
    return Model(m);
  }

  ModelInfo info() const {
    ModelInfo i;
    pfrt_model_info_init(&i);
    detail::check(pfrt_model_get_info(get(), &i));
    return i;
  }
  // Empty when the model stores no labels.
  std::string label(uint32_t class_index) const {
    const char* l = pfrt_model_get_label(get(), class_index);
    return l ? l : std::string();
  }
  std::string name() const { return pfrt_model_get_name(get()); }
  std::string metadata(const std::string& key) const {
    const char* v = pfrt_model_get_metadata(get(), key.c_str());
    return v ? v : std::string();
  }
  size_t image_floats() const {
    const ModelInfo i = info();
    return size_t(i.channels) * i.image_size * i.image_size;
  }
  // 8-bit pixels (height x width x channels) -> one normalised input image.
  std::vector<float> normalize(const uint8_t* pixels_hwc, size_t pixel_count) const {
    std::vector<float> input(image_floats());
    detail::check(pfrt_model_normalize_u8(get(), pixels_hwc, pixel_count, input.data(), input.size()));
    return input;
  }

  pfrt_model* get() const { return handle_.get(); }

 private:
  explicit Model(pfrt_model* m) : handle_(m, &pfrt_model_close) {}
  std::shared_ptr<pfrt_model> handle_;
};

struct SessionOptions {
  std::string backend;         // "cpu", "reference", "cuda"; empty: "cpu", the default (never another in its place)
  int32_t threads = 0;         // 0: every online core
  uint64_t affinity_mask = 0;  // bit i pins a worker to CPU i
  int32_t spin_us = -1;        // idle workers spin this long before sleeping; -1: the default, 0: never
};

struct RunOptions {
  uint32_t branches = 0;                             // prefix 1..branches; 0: all
  double budget_ms = 0.0;                            // > 0: deadline this long after the run starts
  std::chrono::steady_clock::time_point deadline{};  // non-zero: absolute deadline
  bool best_prefix = false;                          // on the deadline, answer with the longest finished prefix
};

struct RunResult {
  uint32_t branches_used = 0;
  uint32_t batch = 0;
  bool deadline_reached = false;  // a best-prefix answer cut short by the deadline
  double elapsed_ms = 0.0;
};

// One kind of stage of the execution plan (pfrt_stage_time).
struct StageTime {
  pfrt_stage_kind kind = PFRT_STAGE_STEM;
  std::string name;  // "stem", "qkv", "attention", ...
  double ms = 0.0;   // summed over the run's stages of this kind, on whichever threads ran them
  uint64_t flops = 0;
};

struct Profile {
  double stem_ms = 0.0, branches_ms = 0.0, head_ms = 0.0, longest_branch_ms = 0.0;
  std::vector<double> branch_ms;  // per branch
  std::vector<StageTime> stages;  // per kind of stage; empty where the backend does not time stages (cuda)
};

namespace detail {
// The C options of `options` (backend points into it: keep it alive while they are used).
inline pfrt_session_options c_options(const SessionOptions& options) {
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  o.backend = options.backend.empty() ? nullptr : options.backend.c_str();
  o.threads = options.threads;
  o.affinity_mask = options.affinity_mask;
  o.spin_us = options.spin_us;
  return o;
}
}  // namespace detail

// One stream of inferences; use one session per thread.
class Session {
 public:
  explicit Session(const Model& model, const SessionOptions& options = {}) : model_(model) {
    const pfrt_session_options o = detail::c_options(options);
    pfrt_session* s = nullptr;
    detail::check(pfrt_session_create(model.get(), &o, &s));
    handle_.reset(s);
  }
  // Takes over a session made by another C function of `model` (pfrt_session_create_sharded,
  // pfrt_mpi_session_create: see pfrt_shard.hpp, pfrt_mpi.hpp).
  static Session adopt(const Model& model, pfrt_session* handle) { return Session(model, handle); }

  std::string backend() const { return pfrt_session_get_backend(handle_.get()); }

  // Runs into a caller-owned buffer (no allocation).
  RunResult run(const float* input, size_t input_floats, float* logits, size_t logits_floats,
                const RunOptions& options = {}) {
    pfrt_run_options o;
    pfrt_run_options_init(&o);
    o.branches = options.branches;
    o.budget_ms = options.budget_ms;
    o.deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options.deadline.time_since_epoch()).count();
    o.deadline_mode = options.best_prefix ? PFRT_DEADLINE_BEST_PREFIX : PFRT_DEADLINE_FAIL;
    pfrt_run_result r;
    pfrt_run_result_init(&r);
    detail::check(pfrt_session_run_ex(handle_.get(), input, input_floats, logits, logits_floats, &o, &r));
    return RunResult{r.branches_used, r.batch, r.deadline_reached != 0, r.elapsed_ms};
  }

  // Thread-safe: stops the run in progress (it throws Error with PFRT_CANCELLED).
  void cancel() { detail::check(pfrt_session_cancel(handle_.get())); }

  // Timings of the last run.
  Profile profile() const {
    pfrt_profile p;
    pfrt_profile_init(&p);
    Profile out;
    out.branch_ms.resize(model_.info().branches);
    detail::check(pfrt_session_get_profile(handle_.get(), &p, out.branch_ms.data(), out.branch_ms.size()));
    out.branch_ms.resize(p.branches);
    out.stem_ms = p.stem_ms;
    out.branches_ms = p.branches_ms;
    out.head_ms = p.head_ms;
    out.longest_branch_ms = p.longest_branch_ms;
    pfrt_stage_time times[PFRT_STAGE_KINDS];
    for (pfrt_stage_time& t : times) pfrt_stage_time_init(&t);
    size_t kinds = 0;
    detail::check(pfrt_session_get_stage_times(handle_.get(), times, PFRT_STAGE_KINDS, &kinds));
    for (size_t k = 0; k < kinds && k < PFRT_STAGE_KINDS; ++k) {
      out.stages.push_back(StageTime{pfrt_stage_kind(times[k].kind), times[k].name, times[k].ms, times[k].flops});
    }
    return out;
  }

  std::string describe() const { return pfrt_session_describe(handle_.get()); }
  int32_t threads() const { return pfrt_session_get_threads(handle_.get()); }

  // Convenience: returns batch x classes logits. An input that is not a whole number of images
  // (empty included) throws the library's size error ("input has N floats; the model takes ...").
  std::vector<float> run(const std::vector<float>& input, const RunOptions& options = {}) {
    const ModelInfo i = model_.info();
    const size_t image = size_t(i.channels) * i.image_size * i.image_size;
    std::vector<float> logits(std::max<size_t>(1, image == 0 ? 0 : input.size() / image) * i.classes);
    static const float kNothing = 0.0f;  // a non-null pointer for an empty input: the size is what is wrong
    run(input.empty() ? &kNothing : input.data(), input.size(), logits.data(), logits.size(), options);
    return logits;
  }

  pfrt_session* get() const { return handle_.get(); }

 private:
  Session(const Model& model, pfrt_session* handle) : model_(model), handle_(handle) {}
  struct Destroy {
    void operator()(pfrt_session* s) const { pfrt_session_destroy(s); }
  };
  Model model_;
  std::unique_ptr<pfrt_session, Destroy> handle_;
};

}  // namespace pfrt

#endif  // PFRT_PFRT_HPP
