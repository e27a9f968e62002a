// The C API as binaries built against pfrt 0.1's header call it (version node PFRT_0 of
// runtime/src/pfrt.map): the earlier names of functions renamed since, and pfrt_model_get_info
// of the 0.1 layout, whose struct had no struct_size. tests/abi runs a program built against
// that header with this library.
#include <cstdint>

#include "c_api_handles.hpp"

namespace {

// pfrt_model_info as pfrt 0.1 declared it (88 bytes on every platform pfrt builds for).
struct ModelInfo01 {
  uint32_t image_size, channels, patch_size, embed_dim, heads, head_dim, mlp_dim, branches, blocks_per_branch, classes,
      tokens;
  pfrt_pooling pooling;
  pfrt_training training;
  uint64_t parameters, flops, flops_per_branch, file_size;
};
static_assert(sizeof(ModelInfo01) == 88, "pfrt 0.1's pfrt_model_info is 88 bytes");

}  // namespace

extern "C" PFRT_API pfrt_status pfrt_model_get_info_0_1(const pfrt_model* model, ModelInfo01* out_info);
__asm__(".symver pfrt_model_get_info_0_1, pfrt_model_get_info@PFRT_0");

extern "C" {

pfrt_status pfrt_model_get_info_0_1(const pfrt_model* model, ModelInfo01* out_info) {
  return pfrt::api::guarded([&] {
    pfrt::api::require(model, "model");
    pfrt::api::require(out_info, "out_info");
    const pfrt_model_info i = pfrt::api::model_info(*model);
    *out_info =
        ModelInfo01{i.image_size, i.channels,          i.patch_size, i.embed_dim, i.heads,   i.head_dim, i.mlp_dim,
                    i.branches,   i.blocks_per_branch, i.classes,    i.tokens,    i.pooling, i.training, i.parameters,
                    i.flops,      i.flops_per_branch,  i.file_size};
  });
}

const char* pfrt_model_label(const pfrt_model* model, uint32_t class_index) {
  return pfrt_model_get_label(model, class_index);
}
const char* pfrt_model_name(const pfrt_model* model) { return pfrt_model_get_name(model); }
const char* pfrt_model_metadata(const pfrt_model* model, const char* key) {
  return pfrt_model_get_metadata(model, key);
}
const float* pfrt_model_input_mean(const pfrt_model* model) { return pfrt_model_get_input_mean(model); }
const float* pfrt_model_input_std(const pfrt_model* model) { return pfrt_model_get_input_std(model); }
const char* pfrt_session_backend(const pfrt_session* session) { return pfrt_session_get_backend(session); }
pfrt_status pfrt_session_profile(const pfrt_session* session, pfrt_profile* profile, double* branch_ms,
                                 size_t branch_capacity) {
  return pfrt_session_get_profile(session, profile, branch_ms, branch_capacity);
}
uint32_t pfrt_session_threads(const pfrt_session* session) { return uint32_t(pfrt_session_get_threads(session)); }

}  // extern "C"
