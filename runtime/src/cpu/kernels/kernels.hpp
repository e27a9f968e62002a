// The operators the CPU backend computes itself, and an f32 GEMM over weights packed once
// (used through cpu::PackedLinear). Plain loops shaped for the compiler's vectoriser, compiled
// per instruction set (isa_kernels.hpp) and dispatched here (dispatch.cpp); each is tested
// against reference/ops on random inputs of odd sizes (tests/test_cpu_kernels.cpp,
// tests/test_cpu_gemm.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "cpu/kernels/attention_blocks.hpp"
#include "cpu/kernels/f16_kernel.hpp"
#include "cpu/kernels/int8_kernel.hpp"
#include "format/model_spec.hpp"

namespace pfrt::cpu::kernels {

// The instruction set whose kernels this process uses: "avx512", "avx2+fma", "sse2", "neon",
// "vfp" (32-bit ARM without NEON), "neon-baseline" (32-bit ARM built with NEON, on a CPU
// without VFPv4) or "scalar".
const char* kernel_isa();

// Every instruction set this CPU runs kernels for, best (the one chosen at start-up) first.
std::vector<const char*> supported_isas();
// Test hook, so that tests cover every variant the CPU runs: later kernel calls (from any
// thread) use the named instruction set, one of supported_isas(); throws std::invalid_argument
// for any other name. Not for production code: kernels of different sets may round
// differently, and a GEMM's packed weights fit only the set that packed them.
void use_isa(const char* name);

// --- layer_norm.cpp
// Each of `rows` rows of `dim` values (row i at x + i * x_stride) normalised, scaled by gamma
// and shifted by beta into y + i * y_stride. y may equal x.
void layer_norm(const float* x, size_t x_stride, size_t rows, size_t dim, const float* gamma, const float* beta,
                float eps, float* y, size_t y_stride);

// --- gelu.cpp
// In place: x = GELU(x) in the erf form or the tanh approximation.
void gelu(float* x, size_t n, format::Gelu form);

// --- attention.cpp
// Attention for short sequences, one head of one image at a time, in two steps so that blocks
// of query rows can run in parallel over one head's keys. attention_keys writes the keys'
// prepared form (attention_keys_floats floats) once, rows [e_begin, e_end) of head_dim at a time
// (pieces of it can be written at once); attention_queries then answers `queries`
// query rows, out[i] = softmax(q_i K^T * head_dim^-1/2) V, from it with its own scores scratch
// (attention_scores_floats floats). q, k, v: rows of head_dim values, `stride` floats apart (the
// QKV GEMM's output, head-major); out rows `out_stride` apart.
size_t attention_keys_floats(size_t tokens, size_t head_dim);
size_t attention_scores_floats(size_t tokens, size_t head_dim);
void attention_keys(const float* k, size_t stride, size_t tokens, size_t head_dim, size_t e_begin, size_t e_end,
                    float* keys);
void attention_queries(const float* q, const float* keys, const float* v, size_t stride, size_t tokens, size_t head_dim,
                       size_t queries, float* out, size_t out_stride, float* scores);
// One query row against keys and values read as they are (no prepared keys): for the class
// row of a branch's last block, where preparing the keys would cost more than the row itself.
// In parts, so that threads can each take the keys they wrote: attention_row_part attends over
// `tokens` keys and values (rows `stride` floats apart; `scores`: `tokens` floats of scratch)
// and writes the part, attention_row_part_floats(head_dim) floats: the largest score m, the sum
// of exp(score - m) and the sum of exp(score - m) v; attention_row_combine writes the row's
// output from `count` parts `part_stride` floats apart (one part: the same arithmetic as a
// single pass). attention_row is both over all keys, `scores` then holding
// attention_row_part_floats(head_dim) floats more than `tokens`.
inline size_t attention_row_part_floats(size_t head_dim) { return head_dim + 2; }
void attention_row_part(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                        float* part, float* scores);
void attention_row_combine(const float* parts, size_t count, size_t part_stride, size_t head_dim, float* out);
void attention_row(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                   float* out, float* scores);

// --- elementwise.cpp (gather_patches: patches.cpp)
// y[i] = a[i] + b[i] (the residual add). y may equal a or b.
void add(const float* a, const float* b, float* y, size_t n);
// y[i] += w * x[i] (one term of the merge).
void accumulate(const float* x, float w, float* y, size_t n);
// y[e] = mean over `rows` rows of x (rows `dim` apart) of x[., e].
void mean_rows(const float* x, size_t rows, size_t dim, float* y);
// The stem's patch gather for patch rows [first, first + count) of a batch of images
// [batch, C, S, S]; patch row r is patch r % N of image r / N (N patches per image), flattened
// (row-in-patch, column-in-patch, channel) with channel fastest, as reference::gather_patches.
void gather_patches(const float* images, size_t channels, size_t image_size, size_t patch, size_t first, size_t count,
                    float* patches);

// --- gemm.cpp
// One instruction set's f32 GEMM, y = act(x W^T + b) + residual, over weights it packed itself
// (cpu::PackedLinear keeps the GemmKernel that packed its weights and uses no other).
struct GemmKernel {
  const char* isa;
  size_t rows_per_tile;  // rows of a register tile
  size_t panel_width;    // output columns per panel of packed weights
  // W [out, in] (nn.Linear's layout) into ceil(out / panel_width) panels: panel p, input k,
  // column j at panels[(p * in + k) * panel_width + j], zero past `out`; the bias (zero when
  // null) into bias_panels, padded with zeros to the panels' width.
  void (*pack)(const float* weight, size_t in, size_t out, const float* bias, float* panels, float* bias_panels);
  // y[r, c] = act(x[r] . W[c] + b[c]) (+ residual[r, c] when residual is not null) for rows
  // [0, rows) and the columns c < out of panels [panel_begin, panel_end). x, y and residual
  // rows are x_stride, y_stride and residual_stride floats apart; residual may be y itself.
  // activation: 0 none, 1 GELU erf form, 2 GELU tanh form (each computed exactly as gelu()).
  void (*run)(size_t rows, size_t in, const float* x, size_t x_stride, const float* panels, const float* bias_panels,
              size_t out, size_t panel_begin, size_t panel_end, float* y, size_t y_stride, unsigned activation,
              const float* residual, size_t residual_stride);
};
// The GEMM of the instruction set in use.
const GemmKernel& gemm_kernel();

// --- gemm_int8*.cpp (int8_kernel.hpp)
// The int8 GEMM in use (cpu::PackedLinearInt8 keeps the one that packed its weights): the best
// one the instruction set in use and the CPU run; use_isa picks its set's best.
const Int8GemmKernel& int8_gemm_kernel();
// Every int8 kernel this CPU runs ("avx512-vnni", "avx-vnni", "avx2", "neon-dotprod", "neon",
// "scalar"), best first.
std::vector<const char*> supported_int8_isas();
// Test hook like use_isa: later int8 GEMMs use the named kernel, one of supported_int8_isas()
// (until the next use_isa or use_int8_isa); std::invalid_argument for any other name.
void use_int8_isa(const char* name);

// --- gemm_f16_*.cpp (f16_kernel.hpp)
// The f16 GEMM that f16 models use (cpu::PackedLinearF16 keeps the one that packed its weights),
// or null: this CPU has no f16 arithmetic (x86; ARM before ARMv8.2), or the environment asks for
// widened weights (PFRT_F16_KERNEL=widened), and f16 models run as f32 on widened weights.
const F16GemmKernel* f16_gemm_kernel();
// Every f16 kernel this CPU runs ("neon-fp16"; none on x86), best first.
std::vector<const char*> supported_f16_isas();
// Test hook like use_int8_isa: later f16 models use the named kernel, one of
// supported_f16_isas(), or none for "widened"; std::invalid_argument for any other name. The
// environment variable PFRT_F16_KERNEL sets the same choice at start-up (an unknown name there
// is an error at the first f16 model's session).
void use_f16_isa(const char* name);

}  // namespace pfrt::cpu::kernels
