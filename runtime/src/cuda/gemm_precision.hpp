// How the cuda backend runs the GEMM of a linear layer in each precision, and the host side of
// its f16 and int8 forms: the layouts cublasLt's int8 rules ask for, the scratch of a GEMM stage,
// and the model's GEMM weights packed for the device. Pure functions (no CUDA calls), tested
// without a GPU.
//
//   f32:  cublasSgemm (no TF32), then the epilogue kernel (bias, GELU, residual).
//   f16:  the weights as binary16 on the device; the input rows converted to half by a kernel,
//         cublasGemmEx with CUDA_R_16F inputs, CUBLAS_COMPUTE_32F (f32 accumulation, tensor
//         cores allowed) and an f32 output, then the f32 epilogue.
//   int8: the weights as int8 with per-output-channel scales; a kernel quantises each input row
//         (the README's contract), cublasLtMatmul int8 x int8 -> int32 (CUBLAS_COMPUTE_32I), and
//         an epilogue kernel y = float(acc) * (s_x[r] * s_w[n]) + b[n], then GELU and residual.
//
// cublasLt's int8 kernels with the regular (column-major) order ask for: A transposed and B not
// ("TN"), m and k multiples of 4, leading dimensions of A, B and C multiples of 4, pointers
// 4-byte aligned (16 for speed). pfrt pads instead of refusing a shape: the depth K to a multiple
// of 16 (zero columns in the weights and in the quantised input add nothing to the sums), the
// output channels to a multiple of 4 (zero or next rows of the weights, whose sums nobody reads).
// Should cublasLt still refuse (CUBLAS_STATUS_NOT_SUPPORTED on some GPU), the GEMM runs in
// pfrt's own dp4a kernel (kernels_precision.hpp) on the same padded operands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/model_spec.hpp"
#include "model/model.hpp"
#include "plan/weight_ref.hpp"

namespace pfrt::cuda {

enum class GemmPath : uint8_t {
  kSgemm,      // f32
  kHalfGemm,   // f16: cublasGemmEx, half inputs, f32 accumulation and output
  kInt8Matmul  // int8: cublasLtMatmul int8 -> int32, own epilogue
};
GemmPath gemm_path(format::Precision precision);
// "cuBLAS fp32 (no TF32)", ... for the session's description.
const char* describe(GemmPath path);

inline size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// An int8 GEMM of `in` -> `out` as cublasLtMatmul runs it: k, the padded depth (the leading
// dimension of the weights and of the quantised input), and m, the padded output channels (the
// leading dimension of the int32 sums).
struct Int8GemmShape {
  size_t k = 0;
  size_t m = 0;
};
inline constexpr size_t kInt8DepthMultiple = 16;  // 16-byte rows (4 is the minimum)
inline constexpr size_t kInt8ChannelMultiple = 4;
Int8GemmShape int8_gemm_shape(size_t in, size_t out);
// Rows the device copy of an int8 weight of `rows` output channels has: a layer using rows
// [first, first + out) of it reads m = round_up(out, 4) rows, which stay inside.
size_t int8_weight_rows(size_t rows);

// The scratch of an int8 GEMM stage of `rows` rows (the plan's buffer, 64-byte aligned), in
// floats from its start: the quantised rows (rows x k int8), their scales (rows floats), the
// int32 sums (rows x m). A smaller run's layout fits in a larger one's.
struct Int8Scratch {
  size_t scales = 0;  // offset of s_x
  size_t sums = 0;    // offset of the int32 sums (64-byte aligned)
  size_t floats = 0;  // the whole
};
Int8Scratch int8_scratch(size_t in, size_t out, size_t rows);

// An f16 GEMM's input as half: rows of f16_row_halves(in) halves (16-byte rows, zeros past
// `in`), and the floats `rows` of them take.
size_t f16_row_halves(size_t in);
size_t f16_scratch_floats(size_t in, size_t rows);

// The model's GEMM weights, numbered: the stem's (0), the head's (1), then per branch and block
// QKV, output projection (absent without one), fc1, fc2.
size_t gemm_weight_count(const format::ModelConfig& config);
size_t gemm_weight_index(const format::ModelConfig& config, const plan::WeightRef& ref, uint32_t branch);

// The GEMM weights of an f16 or int8 model as the device holds them, packed on the host into one
// blob (each piece 256-byte aligned) that is uploaded once.
//   f16:  rows x ld halves (ld = f16_row_halves(cols)), zeros past `cols`;
//   int8: int8_weight_rows(rows) x ld int8 (ld = int8_gemm_shape's k), zeros past the weight,
//         then as many f32 scales (zeros past `rows`).
struct PackedGemmWeight {
  bool present = false;  // false for the absent output projection
  uint32_t rows = 0, cols = 0;
  size_t ld = 0;             // elements between rows
  size_t values = 0;         // byte offset in the blob
  size_t scales = 0;         // int8: byte offset of the scales
  size_t element_bytes = 0;  // 2 (f16) or 1 (int8)
};
struct PackedGemmWeights {
  format::Precision precision = format::Precision::kF32;
  std::vector<PackedGemmWeight> pieces;  // by gemm_weight_index
  std::vector<uint8_t> blob;
};
inline constexpr size_t kGemmWeightAlignBytes = 256;
// Empty (no pieces) for an f32 model.
PackedGemmWeights pack_gemm_weights(const core::Model& model);

// What a GEMM reads of a packed weight for a layer on its rows from `first_row`, in a copy of the
// blob at `blob` (host or device memory): its values from that row (rows ld elements apart), and
// int8's scales from that channel.
struct GemmOperand {
  const void* values = nullptr;
  const float* scales = nullptr;
  size_t ld = 0;
};
GemmOperand gemm_operand(const uint8_t* blob, const PackedGemmWeight& piece, uint32_t first_row);

// binary16 bits of v, rounded to nearest even (the f16 model's weights, widened to f32 when it
// was opened, come back exactly).
uint16_t to_half_bits(float v);

}  // namespace pfrt::cuda
