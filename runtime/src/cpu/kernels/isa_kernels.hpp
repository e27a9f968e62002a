// The kernels of one instruction set. Every kernel source is compiled once per ISA the build
// targets (on x86-64: AVX-512, AVX2+FMA and the SSE2 baseline; on 32-bit ARM: NEON and the
// baseline; elsewhere the baseline only), each time with PFRT_KERNEL_ISA naming the namespace
// and the compiler flags of that ISA; dispatch.cpp picks one set at start-up. No include
// guard: dispatch.cpp includes this once per ISA. Kernel sources use no inline function of
// another header (an inline function compiled for AVX-512 could be the copy the linker keeps
// for every caller).
#include <cstddef>

#include "cpu/kernels/f16_kernel.hpp"
#include "cpu/kernels/int8_kernel.hpp"

#ifndef PFRT_KERNEL_ISA
#error "PFRT_KERNEL_ISA must name the instruction set these kernels are compiled for"
#endif

namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA {

void layer_norm(const float* x, size_t x_stride, size_t rows, size_t dim, const float* gamma, const float* beta,
                float eps, float* y, size_t y_stride);
void gelu_erf(float* x, size_t n);
void gelu_tanh(float* x, size_t n);
size_t attention_keys_floats(size_t tokens, size_t head_dim);
size_t attention_scores_floats(size_t tokens, size_t head_dim);
void attention_keys(const float* k, size_t stride, size_t tokens, size_t head_dim, size_t e_begin, size_t e_end,
                    float* keys);
void attention_queries(const float* q, const float* keys, const float* v, size_t stride, size_t tokens, size_t head_dim,
                       size_t queries, float* out, size_t out_stride, float* scores);
void attention_row_part(const float* q, const float* k, const float* v, size_t stride, size_t tokens, size_t head_dim,
                        float* part, float* scores);
void attention_row_combine(const float* parts, size_t count, size_t part_stride, size_t head_dim, float* out);
void add(const float* a, const float* b, float* y, size_t n);
void accumulate(const float* x, float w, float* y, size_t n);
void mean_rows(const float* x, size_t rows, size_t dim, float* y);
// gemm.cpp (kernels.hpp's GemmKernel describes them).
size_t gemm_rows_per_tile();
size_t gemm_panel_width();
void gemm_pack(const float* weight, size_t in, size_t out, const float* bias, float* panels, float* bias_panels);
void gemm(size_t rows, size_t in, const float* x, size_t x_stride, const float* panels, const float* bias_panels,
          size_t out, size_t panel_begin, size_t panel_end, float* y, size_t y_stride, unsigned activation,
          const float* residual, size_t residual_stride);
// gemm_int8*.cpp (int8_kernel.hpp describes them): those this set's objects define, and the
// list of them, best first (the dispatch keeps those the CPU runs).
extern const Int8GemmKernel int8_scalar, int8_avx2, int8_avx_vnni, int8_avx512_vnni, int8_neon, int8_neon_dotprod;
const Int8GemmKernel* const* int8_gemm_kernels(size_t* count);
// gemm_f16_neon.cpp (f16_kernel.hpp): defined by the base set's objects on 64-bit ARM only.
extern const F16GemmKernel f16_neon;

}  // namespace pfrt::cpu::kernels::PFRT_KERNEL_ISA
