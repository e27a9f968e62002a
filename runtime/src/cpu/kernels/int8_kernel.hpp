// What an int8 GEMM kernel (gemm_int8*.cpp) offers the dispatch and cpu::PackedLinearInt8: its
// weight and activation layouts and two functions. Plain data only (no inline functions), so
// the per-ISA kernel sources may include it (see isa_kernels.hpp).
//
// Packed weights, for panel width W and k group G (the k values one dot-product instruction
// sums), K = in rounded up to G, P = ceil(out / W) panels: panel p, group g, column j, t < G at
// panels[(p * K / G + g) * W * G + j * G + t] = q_w[p * W + j][g * G + t], zero past `out` and
// `in`. Then, 64-byte aligned, per panel three arrays of W 32-bit words: the correction
// (int32: 128 * sum_k q_w for the u8 activation format, which the kernel subtracts; else 0),
// the weight scales and the bias (f32, zero past `out`).
// Activations: row r at q + r * q_stride, K values of the kernel's format (zero past `in`),
// then the rows' scales (f32) where PackedLinearInt8 puts them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/kernels/gemm_output.hpp"

namespace pfrt::cpu::kernels {

// The activation value stored for q_x in [-127, 127].
enum class Int8Format : uint8_t {
  kS8,   // q
  kU8,   // q + 128 (for u8 x s8 dot products: vpdpbusd)
  kS16,  // q as int16 (for s16 x s16 pairs: vpmaddwd)
};

// A CPU feature a kernel needs beyond those of the instruction set it is compiled in.
enum class Int8Feature : uint8_t { kNone, kAvx512Vnni, kAvxVnni, kDotprod };

// One run of an int8 kernel: rows [0, rows) from these pointers, the output columns below
// `out` of panels [panel_begin, panel_end) (GemmOutput).
struct Int8GemmArgs : GemmOutput {
  size_t rows;
  size_t k;  // `in` rounded up to the k group
  const void* q;
  size_t q_stride;  // bytes between activation rows
  const float* x_scales;
  const int8_t* panels;
  const uint32_t* params;  // per panel: correction, scales, bias (3 x W words)
};

struct Int8GemmKernel {
  const char* isa;
  Int8Feature feature;
  size_t rows_per_tile, panel_width, k_group;
  Int8Format format;
  // Quantises `rows` rows of `in` floats (x_stride apart) into rows of k values (q_stride
  // bytes apart, zero q past `in`) and their scales.
  void (*quantize)(const float* x, size_t x_stride, size_t rows, size_t in, size_t k, void* q, size_t q_stride,
                   float* scales);
  void (*run)(const Int8GemmArgs& args);
};

}  // namespace pfrt::cpu::kernels
