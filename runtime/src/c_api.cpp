// The C API: the library's only exported symbols. Every entry point catches everything and
// turns it into a status plus this thread's last-error message. The names and layouts of
// pfrt 0.1 that changed since are in c_api_0_1.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "api_structs.hpp"
#include "backend/backend.hpp"
#include "c_api_handles.hpp"
#include "format/model_spec.hpp"
#include "pfrt_version.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::api {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

pfrt_model_info model_info(const pfrt_model& model) {
  const format::ModelConfig& c = model.model->config();
  const format::OperationCount ops = format::operation_count(c);
  pfrt_model_info info;
  pfrt_model_info_init(&info);
  info.image_size = c.image_size;
  info.channels = c.channels;
  info.patch_size = c.patch_size;
  info.embed_dim = c.embed_dim;
  info.heads = c.heads;
  info.head_dim = c.head_dim;
  info.mlp_dim = c.mlp_dim;
  info.branches = c.branches;
  info.blocks_per_branch = c.blocks_per_branch;
  info.classes = c.classes;
  info.tokens = c.tokens();
  info.pooling = c.pooling == format::Pooling::kMean ? PFRT_POOLING_MEAN : PFRT_POOLING_CLS;
  info.training = pfrt_training(c.training);
  info.parameters = model.model->parameter_count();
  info.flops = ops.total(c.branches);
  info.flops_per_branch = ops.per_branch;
  info.file_size = model.model->file_size();
  info.precision = pfrt_precision(c.quantization.precision);
  info.activations = pfrt_activation_quantization(c.quantization.activations);
  return info;
}

}  // namespace pfrt::api

namespace {

pfrt_session_options default_session_options() {
  pfrt_session_options o;
  pfrt_session_options_init(&o);
  return o;
}

}  // namespace

namespace pfrt::api {

core::SessionOptions session_options(const pfrt_session_options* options) {
  const pfrt_session_options o = read_struct(options, default_session_options(), "pfrt_session_options");
  core::SessionOptions opts;
  if (o.backend) opts.backend = o.backend;
  opts.threads = o.threads;
  opts.affinity_mask = o.affinity_mask;
  opts.spin_us = o.spin_us;
  return opts;
}

}  // namespace pfrt::api

namespace {

using pfrt::api::guarded;
using pfrt::api::init_struct;
using pfrt::api::require;

// An enum that comes from C may hold any value of its type's size; reading an out-of-range value
// as the C++ enum is undefined behaviour, so its bytes are read as the underlying integer.
template <typename Enum>
long long raw_enum(const Enum& value) {
  std::underlying_type_t<Enum> raw;
  static_assert(sizeof(raw) == sizeof(Enum), "an enum and its underlying type have the same size");
  std::memcpy(&raw, &value, sizeof(raw));
  return static_cast<long long>(raw);
}

void open_with(pfrt_model** out_model, const std::shared_ptr<const pfrt::core::Model>& model) {
  *out_model = new pfrt_model{model};
}

pfrt_run_options default_run_options() {
  pfrt_run_options o;
  pfrt_run_options_init(&o);
  return o;
}

}  // namespace

// pfrt_model_get_info has two versions (runtime/src/pfrt.map): this one, PFRT_0.2, whose struct
// starts with struct_size, and PFRT_0 for binaries of pfrt 0.1 (c_api_0_1.cpp).
extern "C" PFRT_API pfrt_status pfrt_model_get_info_0_2(const pfrt_model* model, pfrt_model_info* info);
__asm__(".symver pfrt_model_get_info_0_2, pfrt_model_get_info@@PFRT_0.2");

extern "C" {

const char* pfrt_version(void) { return PFRT_VERSION_STRING; }

uint32_t pfrt_format_version(void) { return pfrt::format::kFormatVersion; }

const char* pfrt_status_string(pfrt_status status) {
  switch (raw_enum(status)) {
    case PFRT_OK: return "ok";
    case PFRT_INVALID_ARGUMENT: return "invalid argument";
    case PFRT_IO_ERROR: return "i/o error";
    case PFRT_INVALID_MODEL: return "invalid model";
    case PFRT_UNSUPPORTED: return "unsupported";
    case PFRT_BACKEND_ERROR: return "backend error";
    case PFRT_OUT_OF_MEMORY: return "out of memory";
    case PFRT_CANCELLED: return "cancelled";
    case PFRT_DEADLINE_EXCEEDED: return "deadline exceeded";
    case PFRT_INTERNAL_ERROR: return "internal error";
  }
  return "unknown status";
}

const char* pfrt_last_error(void) { return pfrt::api::last_error().c_str(); }

const char* pfrt_backend_name(size_t index) {
  const auto& backends = pfrt::core::builtin_backends();
  return index < backends.size() ? backends[index]->name() : nullptr;
}

pfrt_status pfrt_backend_check(const char* name) {
  return guarded([&] {
    require(name, "name");
    const pfrt::core::Backend& backend = pfrt::core::find_backend(name);
    if (std::string why = backend.unavailable_reason(); !why.empty()) {
      pfrt::core::fail(PFRT_BACKEND_ERROR, std::string("backend '") + name + "' cannot run here: " + why);
    }
  });
}

pfrt_status pfrt_model_open(const char* path, pfrt_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    require(path, "path");
    open_with(out_model, pfrt::core::Model::open(path));
  });
}

pfrt_status pfrt_model_open_buffer(const void* data, size_t size, pfrt_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    if (size != 0) require(data, "data");
    open_with(out_model, pfrt::core::Model::from_buffer(data, size));
  });
}

void pfrt_model_close(pfrt_model* model) { delete model; }

void pfrt_model_info_init(pfrt_model_info* info) { init_struct(info); }

pfrt_status pfrt_model_get_info_0_2(const pfrt_model* model, pfrt_model_info* info) {
  return guarded([&] {
    require(model, "model");
    require(info, "info");
    const uint32_t size = pfrt::api::struct_size_of(*info, "pfrt_model_info");
    pfrt::api::write_struct(info, pfrt::api::model_info(*model), size);
  });
}

const char* pfrt_model_get_label(const pfrt_model* model, uint32_t class_index) {
  if (model == nullptr) return nullptr;
  const auto& labels = model->model->config().labels;
  return class_index < labels.size() ? labels[class_index].c_str() : nullptr;
}

const char* pfrt_model_get_name(const pfrt_model* model) {
  return model == nullptr ? nullptr : model->model->name().c_str();
}

const char* pfrt_model_get_metadata(const pfrt_model* model, const char* key) {
  if (model == nullptr || key == nullptr) return nullptr;
  const std::string* value = model->model->metadata(key);
  return value ? value->c_str() : nullptr;
}

const float* pfrt_model_get_input_mean(const pfrt_model* model) {
  return model == nullptr ? nullptr : model->model->config().mean.data();
}

const float* pfrt_model_get_input_std(const pfrt_model* model) {
  return model == nullptr ? nullptr : model->model->config().std.data();
}

void pfrt_session_options_init(pfrt_session_options* options) {
  init_struct(options);
  if (options != nullptr) options->spin_us = -1;
}

pfrt_status pfrt_session_create(pfrt_model* model, const pfrt_session_options* options, pfrt_session** out_session) {
  return guarded([&] {
    require(out_session, "out_session");
    *out_session = nullptr;
    require(model, "model");
    *out_session = new pfrt_session(model->model, pfrt::api::session_options(options));
  });
}

void pfrt_session_destroy(pfrt_session* session) { delete session; }

const char* pfrt_session_get_backend(const pfrt_session* session) {
  return session == nullptr ? nullptr : session->session.backend_name();
}

void pfrt_run_options_init(pfrt_run_options* options) { init_struct(options); }

void pfrt_run_result_init(pfrt_run_result* result) { init_struct(result); }

pfrt_status pfrt_session_run_ex(pfrt_session* session, const float* input, size_t input_floats, float* logits,
                                size_t logits_floats, const pfrt_run_options* options, pfrt_run_result* result) {
  return guarded([&] {
    require(session, "session");
    const pfrt_run_options o = pfrt::api::read_struct(options, default_run_options(), "pfrt_run_options");
    const uint32_t result_size = result ? pfrt::api::struct_size_of(*result, "pfrt_run_result") : 0;
    if (std::isnan(o.budget_ms)) pfrt::core::fail(PFRT_INVALID_ARGUMENT, "budget_ms is NaN: give milliseconds >= 0");
    if (!(o.budget_ms >= 0.0) || o.deadline_ns < 0) {
      pfrt::core::fail(PFRT_INVALID_ARGUMENT, "budget_ms and deadline_ns must not be negative");
    }
    const long long mode = raw_enum(o.deadline_mode);
    if (mode != PFRT_DEADLINE_FAIL && mode != PFRT_DEADLINE_BEST_PREFIX) {
      pfrt::core::fail(PFRT_INVALID_ARGUMENT, "unknown deadline_mode " + std::to_string(mode));
    }
    pfrt::core::RunOptions run;
    run.branches = o.branches;
    using pfrt::core::Clock;
    if (o.deadline_ns > 0) run.deadline = Clock::time_point(std::chrono::nanoseconds(o.deadline_ns));
    if (o.budget_ms > 0.0) {
      const auto budget = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double, std::milli>(std::min(o.budget_ms, 1e12)));
      run.deadline = std::min(run.deadline, Clock::now() + budget);
    }
    run.best_prefix_on_deadline = mode == PFRT_DEADLINE_BEST_PREFIX;
    const pfrt::core::RunOutcome outcome = session->session.run(input, input_floats, logits, logits_floats, run);
    if (result != nullptr) {
      pfrt_run_result r;
      pfrt_run_result_init(&r);
      r.branches_used = outcome.branches_used;
      r.batch = uint32_t(outcome.batch);
      r.deadline_reached = outcome.deadline_reached ? 1 : 0;
      r.elapsed_ms = outcome.elapsed_ms;
      pfrt::api::write_struct(result, r, result_size);
    }
  });
}

pfrt_status pfrt_session_cancel(pfrt_session* session) {
  return guarded([&] {
    require(session, "session");
    session->session.cancel();
  });
}

void pfrt_profile_init(pfrt_profile* profile) { init_struct(profile); }

pfrt_status pfrt_session_get_profile(const pfrt_session* session, pfrt_profile* profile, double* branch_ms,
                                     size_t branch_capacity) {
  return guarded([&] {
    require(session, "session");
    require(profile, "profile");
    const uint32_t size = pfrt::api::struct_size_of(*profile, "pfrt_profile");
    if (branch_capacity > 0) require(branch_ms, "branch_ms");
    const pfrt::core::RunProfile& p = session->session.last_profile();
    pfrt_profile out;
    pfrt_profile_init(&out);
    out.stem_ms = p.stem_ms;
    out.branches_ms = p.branches_ms;
    out.head_ms = p.head_ms;
    out.longest_branch_ms = p.branch_ms.empty() ? 0.0 : *std::max_element(p.branch_ms.begin(), p.branch_ms.end());
    const size_t n = std::min(branch_capacity, p.branch_ms.size());
    std::copy(p.branch_ms.begin(), p.branch_ms.begin() + long(n), branch_ms);
    out.branches = uint32_t(n);
    pfrt::api::write_struct(profile, out, size);
  });
}

void pfrt_stage_time_init(pfrt_stage_time* time) { init_struct(time); }

static_assert(PFRT_STAGE_KINDS == pfrt::core::kProfiledStageKinds, "pfrt_stage_kind lists the plan's stage kinds");
static_assert(PFRT_STAGE_HEAD == int(pfrt::plan::StageKind::kHead) &&
                  PFRT_STAGE_QKV == int(pfrt::plan::StageKind::kQkv) &&
                  PFRT_STAGE_QUANTIZE == int(pfrt::core::kQuantizeStageSlot),
              "pfrt_stage_kind numbers the kinds as the plan does");

pfrt_status pfrt_session_get_stage_times(const pfrt_session* session, pfrt_stage_time* times, size_t capacity,
                                         size_t* count) {
  return guarded([&] {
    require(session, "session");
    require(count, "count");
    if (capacity > 0) require(times, "times");
    const pfrt::core::RunProfile& p = session->session.last_profile();
    const bool timed = std::any_of(p.stage_flops.begin(), p.stage_flops.end(), [](uint64_t f) { return f != 0; });
    const size_t kinds = timed ? PFRT_STAGE_KINDS : 0;
    const uint32_t stride = capacity > 0 ? pfrt::api::struct_size_of(times[0], "pfrt_stage_time") : 0;
    for (size_t k = 0; k < std::min(capacity, kinds); ++k) {
      auto* entry = reinterpret_cast<pfrt_stage_time*>(reinterpret_cast<unsigned char*>(times) + k * stride);
      const uint32_t size = pfrt::api::struct_size_of(*entry, "pfrt_stage_time");
      if (size != stride) {
        pfrt::core::fail(PFRT_INVALID_ARGUMENT, "pfrt_stage_time entries must all have times[0]'s struct_size (entry " +
                                                    std::to_string(k) + " has " + std::to_string(size) + ")");
      }
      pfrt_stage_time out;
      pfrt_stage_time_init(&out);
      out.kind = uint32_t(k);
      out.name = pfrt::core::profiled_stage_name(k);
      out.ms = p.stage_ms[k];
      out.flops = p.stage_flops[k];
      pfrt::api::write_struct(entry, out, size);
    }
    *count = kinds;
  });
}

const char* pfrt_session_describe(const pfrt_session* session) {
  return session == nullptr ? nullptr : session->description.c_str();
}

int32_t pfrt_session_get_threads(const pfrt_session* session) {
  return session == nullptr ? 0 : int32_t(session->session.threads());
}

pfrt_status pfrt_session_run(pfrt_session* session, const float* input, size_t input_floats, float* logits,
                             size_t logits_floats) {
  return pfrt_session_run_ex(session, input, input_floats, logits, logits_floats, nullptr, nullptr);
}

pfrt_status pfrt_model_normalize_u8(const pfrt_model* model, const uint8_t* pixels_hwc, size_t pixel_count,
                                    float* input, size_t input_floats) {
  return guarded([&] {
    require(model, "model");
    require(pixels_hwc, "pixels");
    require(input, "input");
    const pfrt::format::ModelConfig& c = model->model->config();
    const size_t n = size_t(c.image_floats());
    if (pixel_count != n || input_floats < n) {
      pfrt::core::fail(PFRT_INVALID_ARGUMENT, "an image for this model is " + std::to_string(c.image_size) + "x" +
                                                  std::to_string(c.image_size) + "x" + std::to_string(c.channels) +
                                                  " = " + std::to_string(n) + " values; got " +
                                                  std::to_string(pixel_count) + " pixels and room for " +
                                                  std::to_string(input_floats) + " floats");
    }
    const size_t plane = size_t(c.image_size) * c.image_size;
    for (size_t ch = 0; ch < c.channels; ++ch) {
      const float scale = 1.0f / (255.0f * c.std[ch]);
      const float shift = c.mean[ch] / c.std[ch];
      for (size_t i = 0; i < plane; ++i) input[ch * plane + i] = float(pixels_hwc[i * c.channels + ch]) * scale - shift;
    }
  });
}

}  // extern "C"
