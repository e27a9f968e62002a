// Picks the kernels compiled for the best instruction set this CPU has, once per process.
#include <cstring>

#include "cpu/kernels/kernels.hpp"

#if defined(PFRT_KERNELS_X86)
#define PFRT_KERNEL_ISA avx512
#include "cpu/kernels/isa_kernels.hpp"
#undef PFRT_KERNEL_ISA
#define PFRT_KERNEL_ISA avx2
#include "cpu/kernels/isa_kernels.hpp"
#undef PFRT_KERNEL_ISA
#endif
#define PFRT_KERNEL_ISA base
#include "cpu/kernels/isa_kernels.hpp"
#undef PFRT_KERNEL_ISA

namespace pfrt::cpu::kernels {

namespace {

struct Table {
  const char* isa;
  decltype(&base::layer_norm) layer_norm;
  decltype(&base::gelu_erf) gelu_erf;
  decltype(&base::gelu_tanh) gelu_tanh;
  decltype(&base::attention_keys_floats) attention_keys_floats;
  decltype(&base::attention_scores_floats) attention_scores_floats;
  decltype(&base::attention_keys) attention_keys;
  decltype(&base::attention_queries) attention_queries;
  decltype(&base::add) add;
  decltype(&base::accumulate) accumulate;
  decltype(&base::mean_rows) mean_rows;
};

#define PFRT_KERNEL_TABLE(ns, name)                                                                          \
  Table {                                                                                                    \
    name, ns::layer_norm, ns::gelu_erf, ns::gelu_tanh, ns::attention_keys_floats, ns::attention_scores_floats, \
        ns::attention_keys, ns::attention_queries, ns::add, ns::accumulate, ns::mean_rows                        \
  }

Table choose() {
#if defined(PFRT_KERNELS_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return PFRT_KERNEL_TABLE(avx512, "avx512");
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return PFRT_KERNEL_TABLE(avx2, "avx2+fma");
  return PFRT_KERNEL_TABLE(base, "sse2");
#elif defined(__aarch64__) || defined(__ARM_NEON)
  return PFRT_KERNEL_TABLE(base, "neon");
#else
  return PFRT_KERNEL_TABLE(base, "scalar");
#endif
}

const Table& table() {
  static const Table chosen = choose();
  return chosen;
}

}  // namespace

const char* kernel_isa() { return table().isa; }

void layer_norm(const float* x, size_t x_stride, size_t rows, size_t dim, const float* gamma, const float* beta,
                float eps, float* y, size_t y_stride) {
  table().layer_norm(x, x_stride, rows, dim, gamma, beta, eps, y, y_stride);
}

void gelu(float* x, size_t n, format::Gelu form) {
  if (form == format::Gelu::kErf) {
    table().gelu_erf(x, n);
  } else {
    table().gelu_tanh(x, n);
  }
}

size_t attention_keys_floats(size_t tokens, size_t head_dim) { return table().attention_keys_floats(tokens, head_dim); }
size_t attention_scores_floats(size_t tokens, size_t head_dim) {
  return table().attention_scores_floats(tokens, head_dim);
}
void attention_keys(const float* k, size_t stride, size_t tokens, size_t head_dim, float* keys) {
  table().attention_keys(k, stride, tokens, head_dim, keys);
}
void attention_queries(const float* q, const float* keys, const float* v, size_t stride, size_t tokens,
                       size_t head_dim, size_t queries, float* out, size_t out_stride, float* scores) {
  table().attention_queries(q, keys, v, stride, tokens, head_dim, queries, out, out_stride, scores);
}

void add(const float* a, const float* b, float* y, size_t n) { table().add(a, b, y, n); }
void accumulate(const float* x, float w, float* y, size_t n) { table().accumulate(x, w, y, n); }
void mean_rows(const float* x, size_t rows, size_t dim, float* y) { table().mean_rows(x, rows, dim, y); }

}  // namespace pfrt::cpu::kernels
