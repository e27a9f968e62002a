// Picks the kernels compiled for the best instruction set this CPU has, once per process
// (use_isa, a test hook, switches to another the CPU also runs).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu/kernels/kernels.hpp"

#if defined(PFRT_KERNELS_ARM32) || defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#if defined(PFRT_KERNELS_X86)
#include <cpuid.h>

#define PFRT_KERNEL_ISA avx512
#include "cpu/kernels/isa_kernels.hpp"
#undef PFRT_KERNEL_ISA
#define PFRT_KERNEL_ISA avx2
#include "cpu/kernels/isa_kernels.hpp"
#undef PFRT_KERNEL_ISA
#endif
#if defined(PFRT_KERNELS_ARM32)
#define PFRT_KERNEL_ISA neon
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
  decltype(&base::attention_row_part) attention_row_part;
  decltype(&base::attention_row_combine) attention_row_combine;
  decltype(&base::add) add;
  decltype(&base::accumulate) accumulate;
  decltype(&base::mean_rows) mean_rows;
  GemmKernel gemm;
  decltype(&base::int8_gemm_kernels) int8_gemm_kernels;  // those of this set's objects
  std::vector<const Int8GemmKernel*> int8;               // those of this set and the lower ones the CPU runs
};

#define PFRT_KERNEL_TABLE(ns, name)                                                                            \
  Table {                                                                                                      \
    name, ns::layer_norm, ns::gelu_erf, ns::gelu_tanh, ns::attention_keys_floats, ns::attention_scores_floats, \
        ns::attention_keys, ns::attention_queries, ns::attention_row_part, ns::attention_row_combine, ns::add, \
        ns::accumulate, ns::mean_rows,                                                                         \
        GemmKernel{name, ns::gemm_rows_per_tile(), ns::gemm_panel_width(), ns::gemm_pack, ns::gemm},           \
        ns::int8_gemm_kernels, {},                                                                             \
  }

#if defined(PFRT_KERNELS_X86)
// AVX-VNNI (the VEX form of vpdpbusd): CPUID leaf 7, sub-leaf 1, EAX bit 4, read directly
// because clang 14's __builtin_cpu_supports does not know "avxvnni"; it needs AVX2's YMM state.
bool cpu_has_avx_vnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax & (1u << 4)) != 0 && __builtin_cpu_supports("avx2");
}
#endif

bool int8_feature_supported(Int8Feature feature) {
  switch (feature) {
    case Int8Feature::kNone: return true;
#if defined(PFRT_KERNELS_X86)
    case Int8Feature::kAvx512Vnni: return __builtin_cpu_supports("avx512vnni");
    case Int8Feature::kAvxVnni: return cpu_has_avx_vnni();
#endif
#if defined(__aarch64__)
    case Int8Feature::kDotprod: return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    default: return false;
  }
}

// The sets this CPU runs, best first.
std::vector<Table> supported_tables() {
  std::vector<Table> tables;
#if defined(PFRT_KERNELS_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    tables.push_back(PFRT_KERNEL_TABLE(avx512, "avx512"));
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    tables.push_back(PFRT_KERNEL_TABLE(avx2, "avx2+fma"));
  }
  tables.push_back(PFRT_KERNEL_TABLE(base, "sse2"));
#elif defined(PFRT_KERNELS_ARM32)
  // Debian's armhf baseline has no NEON: the neon set (also VFPv4, for its FMA) when the
  // kernel reports both.
  const unsigned long hwcap = getauxval(AT_HWCAP);
  if ((hwcap & HWCAP_NEON) != 0 && (hwcap & HWCAP_VFPv4) != 0) tables.push_back(PFRT_KERNEL_TABLE(neon, "neon"));
#if defined(__ARM_NEON)
  tables.push_back(PFRT_KERNEL_TABLE(base, "neon-baseline"));
#else
  tables.push_back(PFRT_KERNEL_TABLE(base, "vfp"));
#endif
#elif defined(__aarch64__) || defined(__ARM_NEON)
  tables.push_back(PFRT_KERNEL_TABLE(base, "neon"));
#else
  tables.push_back(PFRT_KERNEL_TABLE(base, "scalar"));
#endif
  // Each set's int8 kernels: its own and those of the sets below it, best first, where the CPU
  // has what they need beyond the set (a CPU with AVX-512 but no VNNI runs AVX2's).
  for (size_t i = 0; i < tables.size(); ++i) {
    for (size_t j = i; j < tables.size(); ++j) {
      size_t count = 0;
      const Int8GemmKernel* const* kernels = tables[j].int8_gemm_kernels(&count);
      for (size_t k = 0; k < count; ++k) {
        if (int8_feature_supported(kernels[k]->feature)) tables[i].int8.push_back(kernels[k]);
      }
    }
  }
  return tables;
}

const std::vector<Table>& supported() {
  static const std::vector<Table> tables = supported_tables();
  return tables;
}

std::atomic<const Table*>& current() {
  static std::atomic<const Table*> chosen{&supported().front()};
  return chosen;
}

const Table& table() { return *current().load(std::memory_order_acquire); }

std::atomic<const Int8GemmKernel*>& current_int8() {
  static std::atomic<const Int8GemmKernel*> chosen{supported().front().int8.front()};
  return chosen;
}

}  // namespace

const char* kernel_isa() { return table().isa; }

std::vector<const char*> supported_isas() {
  std::vector<const char*> names;
  for (const Table& t : supported()) names.push_back(t.isa);
  return names;
}

void use_isa(const char* name) {
  std::string known;
  for (const Table& t : supported()) {
    if (name != nullptr && std::strcmp(name, t.isa) == 0) {
      current().store(&t, std::memory_order_release);
      current_int8().store(t.int8.front(), std::memory_order_release);
      return;
    }
    known += (known.empty() ? "" : ", ") + std::string(t.isa);
  }
  throw std::invalid_argument("kernel instruction set '" + std::string(name != nullptr ? name : "(null)") +
                              "' is not one this CPU runs (" + known + ")");
}

std::vector<const char*> supported_int8_isas() {
  std::vector<const char*> names;
  for (const Int8GemmKernel* k : supported().front().int8) names.push_back(k->isa);
  return names;
}

void use_int8_isa(const char* name) {
  std::string known;
  for (const Int8GemmKernel* k : supported().front().int8) {
    if (name != nullptr && std::strcmp(name, k->isa) == 0) {
      current_int8().store(k, std::memory_order_release);
      return;
    }
    known += (known.empty() ? "" : ", ") + std::string(k->isa);
  }
  throw std::invalid_argument("int8 kernel '" + std::string(name != nullptr ? name : "(null)") +
                              "' is not one this CPU runs (" + known + ")");
}

const Int8GemmKernel& int8_gemm_kernel() { return *current_int8().load(std::memory_order_acquire); }

namespace {

// The f16 kernels this CPU runs, best first: ARMv8.2 FP16 needs both the scalar (FPHP) and the
// vector (ASIMDHP) half-precision instructions.
std::vector<const F16GemmKernel*> supported_f16() {
  std::vector<const F16GemmKernel*> kernels;
#if defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  if ((hwcap & HWCAP_FPHP) != 0 && (hwcap & HWCAP_ASIMDHP) != 0) kernels.push_back(&base::f16_neon);
#endif
  return kernels;
}

const F16GemmKernel* f16_named(const char* name) {
  static const std::vector<const F16GemmKernel*> kernels = supported_f16();
  std::string known;
  for (const F16GemmKernel* k : kernels) {
    if (name != nullptr && std::strcmp(name, k->isa) == 0) return k;
    known += std::string(k->isa) + ", ";
  }
  if (name != nullptr && std::strcmp(name, "widened") == 0) return nullptr;
  throw std::invalid_argument("f16 kernel '" + std::string(name != nullptr ? name : "(null)") +
                              "' is not one this CPU runs (" + known + "widened)");
}

// The best one, or PFRT_F16_KERNEL's choice.
const F16GemmKernel* initial_f16() {
  const char* wanted = std::getenv("PFRT_F16_KERNEL");
  if (wanted == nullptr || *wanted == '\0') {
    const std::vector<const char*> names = supported_f16_isas();
    return names.empty() ? nullptr : f16_named(names.front());
  }
  try {
    return f16_named(wanted);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("PFRT_F16_KERNEL: ") + e.what());
  }
}

std::atomic<const F16GemmKernel*>& current_f16() {
  static std::atomic<const F16GemmKernel*> chosen{initial_f16()};
  return chosen;
}

}  // namespace

const F16GemmKernel* f16_gemm_kernel() { return current_f16().load(std::memory_order_acquire); }

std::vector<const char*> supported_f16_isas() {
  std::vector<const char*> names;
  for (const F16GemmKernel* k : supported_f16()) names.push_back(k->isa);
  return names;
}

void use_f16_isa(const char* name) { current_f16().store(f16_named(name), std::memory_order_release); }

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
void attention_keys(const float* k, size_t stride, size_t tokens, size_t head_dim, size_t e_begin, size_t e_end,
                    float* keys) {
  table().attention_keys(k, stride, tokens, head_dim, e_begin, e_end, keys);
}
void attention_queries(const float* q, const float* keys, const float* v, size_t stride, size_t tokens, size_t head_dim,
                       size_t queries, float* out, size_t out_stride, float* scores) {
  table().attention_queries(q, keys, v, stride, tokens, head_dim, queries, out, out_stride, scores);
}

void attention_row_part(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                        float* part, float* scores) {
  table().attention_row_part(q, k, v, stride, tokens, head_dim, part, scores);
}
void attention_row_combine(const float* parts, size_t count, size_t part_stride, size_t head_dim, float* out) {
  table().attention_row_combine(parts, count, part_stride, head_dim, out);
}
void attention_row(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                   float* out, float* scores) {
  // One part holding every key: scores then the part (head_dim + 2 floats) in `scores`.
  float* part = scores + tokens;
  attention_row_part(q, k, v, stride, tokens, head_dim, part, scores);
  attention_row_combine(part, 1, 0, head_dim, out);
}

void add(const float* a, const float* b, float* y, size_t n) { table().add(a, b, y, n); }
void accumulate(const float* x, float w, float* y, size_t n) { table().accumulate(x, w, y, n); }
void mean_rows(const float* x, size_t rows, size_t dim, float* y) { table().mean_rows(x, rows, dim, y); }

const GemmKernel& gemm_kernel() { return table().gemm; }

}  // namespace pfrt::cpu::kernels
