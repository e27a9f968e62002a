#include "cuda/gemm_precision.hpp"

#include <cmath>
#include <cstring>

#include "error.hpp"

namespace pfrt::cuda {

using format::BlockTensor;
using format::GlobalTensor;
using format::Precision;

GemmPath gemm_path(Precision precision) {
  switch (precision) {
    case Precision::kF16: return GemmPath::kHalfGemm;
    case Precision::kInt8: return GemmPath::kInt8Matmul;
    default: return GemmPath::kSgemm;
  }
}

const char* describe(GemmPath path) {
  switch (path) {
    case GemmPath::kHalfGemm:
      return "cuBLAS f16 GEMMs with f32 accumulation (tensor cores), inputs converted to half per GEMM";
    case GemmPath::kInt8Matmul:
      return "cublasLt int8 GEMMs with int32 accumulation, inputs quantised per row at run time";
    case GemmPath::kSgemm: break;
  }
  return "cuBLAS fp32 (no TF32)";
}

Int8GemmShape int8_gemm_shape(size_t in, size_t out) {
  return {round_up(in, kInt8DepthMultiple), round_up(out, kInt8ChannelMultiple)};
}

size_t int8_weight_rows(size_t rows) { return round_up(rows + kInt8ChannelMultiple - 1, kInt8ChannelMultiple); }

Int8Scratch int8_scratch(size_t in, size_t out, size_t rows) {
  constexpr size_t kLine = 16;  // floats in 64 bytes
  const Int8GemmShape shape = int8_gemm_shape(in, out);
  Int8Scratch s;
  s.scales = rows * shape.k / sizeof(float);  // k is a multiple of 16: whole floats
  s.sums = round_up(s.scales + rows, kLine);
  s.floats = s.sums + rows * shape.m;
  return s;
}

size_t f16_row_halves(size_t in) { return round_up(in, 8); }

size_t f16_scratch_floats(size_t in, size_t rows) { return round_up(rows * f16_row_halves(in), 2) / 2; }

namespace {

constexpr size_t kFirstBlockWeight = 2;
constexpr size_t kWeightsPerBlock = 4;

size_t block_slot(BlockTensor t) {
  switch (t) {
    case BlockTensor::kQkvWeight: return 0;
    case BlockTensor::kOutWeight: return 1;
    case BlockTensor::kFc1Weight: return 2;
    case BlockTensor::kFc2Weight: return 3;
    default: break;
  }
  core::fail(PFRT_INTERNAL_ERROR, "cuda backend: block tensor " + std::to_string(int(t)) + " is not a GEMM weight");
}

// Calls f(ref, branch) for every GEMM weight ref of the model, in index order.
template <class F>
void for_each_gemm_weight(const format::ModelConfig& c, F&& f) {
  f(plan::WeightRef::of(GlobalTensor::kPatchWeight), 0u);
  f(plan::WeightRef::of(GlobalTensor::kHeadWeight), 0u);
  for (uint32_t b = 0; b < c.branches; ++b) {
    for (uint32_t k = 0; k < c.blocks_per_branch; ++k) {
      for (BlockTensor t :
           {BlockTensor::kQkvWeight, BlockTensor::kOutWeight, BlockTensor::kFc1Weight, BlockTensor::kFc2Weight}) {
        f(plan::WeightRef::of(k, t), b);
      }
    }
  }
}

std::vector<int64_t> shape_of(const format::ModelConfig& c, const plan::WeightRef& ref) {
  return ref.kind == plan::WeightRef::Kind::kGlobal ? format::tensor_shape(c, ref.global)
                                                    : format::tensor_shape(c, ref.tensor);
}

}  // namespace

size_t gemm_weight_count(const format::ModelConfig& c) {
  return kFirstBlockWeight + size_t{c.branches} * c.blocks_per_branch * kWeightsPerBlock;
}

size_t gemm_weight_index(const format::ModelConfig& c, const plan::WeightRef& ref, uint32_t branch) {
  if (ref.kind == plan::WeightRef::Kind::kGlobal) {
    if (ref.global == GlobalTensor::kPatchWeight) return 0;
    if (ref.global == GlobalTensor::kHeadWeight) return 1;
  }
  if (ref.kind != plan::WeightRef::Kind::kBlock || branch >= c.branches || ref.block >= c.blocks_per_branch) {
    core::fail(PFRT_INTERNAL_ERROR, "cuda backend: a GEMM weight reference outside the model");
  }
  return kFirstBlockWeight + (size_t{branch} * c.blocks_per_branch + ref.block) * kWeightsPerBlock +
         block_slot(ref.tensor);
}

PackedGemmWeights pack_gemm_weights(const core::Model& model) {
  const format::ModelConfig& c = model.config();
  PackedGemmWeights packed;
  packed.precision = c.quantization.precision;
  if (packed.precision == Precision::kF32) return packed;
  const bool int8 = packed.precision == Precision::kInt8;
  packed.pieces.resize(gemm_weight_count(c));
  const core::ModelWeights& w = model.weights();
  size_t end = 0;
  auto place = [&](size_t bytes) {
    const size_t at = round_up(end, kGemmWeightAlignBytes);
    end = at + bytes;
    return at;
  };
  // Offsets first, then one zeroed blob filled in: the padding stays zero.
  for_each_gemm_weight(c, [&](const plan::WeightRef& ref, uint32_t branch) {
    PackedGemmWeight& p = packed.pieces[gemm_weight_index(c, ref, branch)];
    p.present = int8 ? plan::resolve_int8(w, ref, branch).values != nullptr : plan::resolve(w, ref, branch) != nullptr;
    if (!p.present) return;
    const std::vector<int64_t> shape = shape_of(c, ref);  // [out, in]
    p.rows = uint32_t(shape[0]);
    p.cols = uint32_t(shape[1]);
    if (int8) {
      p.ld = int8_gemm_shape(p.cols, p.rows).k;
      p.element_bytes = 1;
      p.values = place(int8_weight_rows(p.rows) * p.ld);
      p.scales = place(int8_weight_rows(p.rows) * sizeof(float));
    } else {
      p.ld = f16_row_halves(p.cols);
      p.element_bytes = sizeof(uint16_t);
      p.values = place(size_t{p.rows} * p.ld * sizeof(uint16_t));
    }
  });
  packed.blob.assign(round_up(end, kGemmWeightAlignBytes), 0);
  uint8_t* blob = packed.blob.data();
  for_each_gemm_weight(c, [&](const plan::WeightRef& ref, uint32_t branch) {
    const PackedGemmWeight& p = packed.pieces[gemm_weight_index(c, ref, branch)];
    if (!p.present) return;
    if (int8) {
      const core::Int8Weight q = plan::resolve_int8(w, ref, branch);
      for (size_t r = 0; r < p.rows; ++r) std::memcpy(blob + p.values + r * p.ld, q.values + r * p.cols, p.cols);
      std::memcpy(blob + p.scales, q.scales, p.rows * sizeof(float));
    } else {
      const float* f = plan::resolve(w, ref, branch);
      for (size_t r = 0; r < p.rows; ++r) {
        for (size_t k = 0; k < p.cols; ++k) {
          const uint16_t h = to_half_bits(f[r * p.cols + k]);
          std::memcpy(blob + p.values + (r * p.ld + k) * sizeof h, &h, sizeof h);
        }
      }
    }
  });
  return packed;
}

GemmOperand gemm_operand(const uint8_t* blob, const PackedGemmWeight& piece, uint32_t first_row) {
  GemmOperand o;
  o.values = blob + piece.values + size_t{first_row} * piece.ld * piece.element_bytes;
  o.scales = reinterpret_cast<const float*>(blob + piece.scales) + first_row;
  o.ld = piece.ld;
  return o;
}

uint16_t to_half_bits(float v) {
  uint32_t x;
  std::memcpy(&x, &v, sizeof x);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  x &= 0x7FFFFFFFu;
  if (x >= 0x7F800000u) return uint16_t(sign | 0x7C00u | (x > 0x7F800000u ? 0x200u : 0u));  // inf, NaN
  if (x >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // 65520 and above round to infinity
  if (x < 0x38800000u) {  // below 2^-14: a subnormal half (exact scaling by 2^24, then round half even)
    return uint16_t(sign | uint16_t(std::nearbyint(std::fabs(v) * 16777216.0f)));
  }
  uint32_t h = (x - 0x38000000u) >> 13;  // exponent rebiased from 127 to 15, 10 mantissa bits
  const uint32_t rest = x & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0)) ++h;
  return uint16_t(sign | h);
}

}  // namespace pfrt::cuda
