// The host side of the cuda backend's f16 and int8 GEMMs (cuda/gemm_precision.hpp), which needs
// no GPU: the path per precision, the padding that keeps every layer within cublasLt's int8 rules,
// the scratch of a GEMM stage, the weights packed for the device, the loader of cublasLt, and
// that the backend no longer refuses f16 and int8 models.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "cuda/cublaslt_library.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_plan.hpp"
#include "cuda/device_weights.hpp"
#include "cuda/gemm_precision.hpp"
#include "error.hpp"
#include "format/model_spec.hpp"
#include "reference/ops.hpp"
#include "support/model_cases.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using format::Precision;

namespace {

format::ModelConfig config_of(Precision precision, bool single_head = false) {
  format::ModelConfig c = test::tiny_config();
  c.branches = 2;
  c.blocks_per_branch = 2;
  c.classes = 7;      // not a multiple of 4: the head's channels are padded
  if (single_head) {  // no output projection
    c.heads = 1;
    c.head_dim = c.embed_dim;
  }
  c.quantization = format::Quantization::of(precision);
  return c;
}

// The value of binary16 bits (the test's own decoding, to check the encoder against).
float from_half_bits(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  const float sign = (h & 0x8000) != 0 ? -1.0f : 1.0f;
  if (exponent == 0) return sign * std::ldexp(float(mantissa), -24);
  if (exponent == 31) return mantissa == 0 ? sign * INFINITY : NAN;
  return sign * std::ldexp(float(1024 + mantissa), exponent - 25);
}

std::vector<plan::WeightRef> block_gemm_refs(uint32_t block) {
  using format::BlockTensor;
  return {plan::WeightRef::of(block, BlockTensor::kQkvWeight), plan::WeightRef::of(block, BlockTensor::kOutWeight),
          plan::WeightRef::of(block, BlockTensor::kFc1Weight), plan::WeightRef::of(block, BlockTensor::kFc2Weight)};
}

}  // namespace

TEST_CASE("each precision has its GEMM path, and the session's description names it") {
  CHECK(cuda::gemm_path(Precision::kF32) == cuda::GemmPath::kSgemm);
  CHECK(cuda::gemm_path(Precision::kF16) == cuda::GemmPath::kHalfGemm);
  CHECK(cuda::gemm_path(Precision::kInt8) == cuda::GemmPath::kInt8Matmul);
  CHECK(std::string(cuda::describe(cuda::GemmPath::kSgemm)).find("fp32") != std::string::npos);
  CHECK(std::string(cuda::describe(cuda::GemmPath::kHalfGemm)).find("f16 GEMMs with f32 accumulation") !=
        std::string::npos);
  CHECK(std::string(cuda::describe(cuda::GemmPath::kInt8Matmul)).find("cublasLt int8") != std::string::npos);
}

TEST_CASE("int8 GEMM shapes keep cublasLt's int8 rules for every layer, slices included") {
  for (size_t in = 1; in <= 80; ++in) {
    for (size_t out = 1; out <= 40; ++out) {
      const cuda::Int8GemmShape s = cuda::int8_gemm_shape(in, out);
      // k and m (and so every leading dimension) multiples of 4, k of 16 (16-byte rows); no
      // more padding than that.
      CHECK(s.k % 16 == 0);
      CHECK(s.m % 4 == 0);
      CHECK(s.k >= in);
      CHECK(s.k < in + 16);
      CHECK(s.m >= out);
      CHECK(s.m < out + 4);
    }
  }
  // A layer on rows [first, first + out) of a weight reads m rows: all inside the device copy.
  for (size_t rows = 1; rows <= 50; ++rows) {
    for (size_t first = 0; first < rows; ++first) {
      for (size_t out = 1; first + out <= rows; ++out) {
        CHECK(first + cuda::int8_gemm_shape(16, out).m <= cuda::int8_weight_rows(rows));
      }
    }
    CHECK(cuda::int8_weight_rows(rows) % 4 == 0);
  }
}

TEST_CASE("an int8 stage's scratch holds the quantised rows, their scales and the sums, aligned") {
  for (const size_t in : {1, 15, 16, 33, 768}) {
    for (const size_t out : {1, 7, 192}) {
      CAPTURE(in);
      CAPTURE(out);
      const cuda::Int8GemmShape shape = cuda::int8_gemm_shape(in, out);
      size_t previous = 0;
      for (const size_t rows : {1, 2, 5, 197, 394}) {
        const cuda::Int8Scratch s = cuda::int8_scratch(in, out, rows);
        CHECK(s.scales * sizeof(float) >= rows * shape.k);  // after the quantised rows
        CHECK(s.sums >= s.scales + rows);                   // after the scales
        CHECK(s.sums % 16 == 0);                            // 64-byte aligned sums
        CHECK(s.floats == s.sums + rows * shape.m);
        CHECK(s.floats > previous);  // a smaller run fits in a larger one's buffer
        previous = s.floats;
      }
    }
  }
  CHECK(cuda::f16_row_halves(1) == 8);
  CHECK(cuda::f16_row_halves(24) == 24);
  CHECK(cuda::f16_row_halves(25) == 32);
  CHECK(cuda::f16_scratch_floats(25, 3) * 2 >= 3 * 32);
}

TEST_CASE("the cuda plan gives f16 and int8 GEMM stages their scratch, sized by their layer") {
  for (const Precision p : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    CAPTURE(format::to_string(p));
    const format::ModelConfig c = config_of(p);
    const size_t batch = 3;
    const plan::ExecutionPlan plan = cuda::session_plan(c, batch, 2);
    size_t linear_stages = 0;
    for (const auto* stages : {&plan.stem(), &plan.branch(), &plan.head()}) {
      for (const plan::Stage& s : *stages) {
        if (s.op != plan::Op::kLinear) continue;
        ++linear_stages;
        CHECK(s.has_scratch == (p != Precision::kF32));
        if (!s.has_scratch) continue;
        const plan::LinearLayer& l = plan.linears()[s.linear];
        const size_t rows = batch * s.in.rows;
        const size_t want =
            p == Precision::kInt8 ? cuda::int8_scratch(l.in, l.out, rows).floats : cuda::f16_scratch_floats(l.in, rows);
        CHECK(plan.buffer(s.scratch).floats == want);
        // In the arena of the stage's input (the branch's own for branch stages).
        const plan::Arena input_arena = plan.buffer(s.in.buffer).arena;
        CHECK(plan.buffer(s.scratch).arena ==
              (input_arena == plan::Arena::kSlot ? input_arena : plan::Arena::kSession));
      }
    }
    CHECK(linear_stages > 4);
  }
}

TEST_CASE("binary16 conversion rounds to nearest even, with subnormals, overflow and NaN") {
  CHECK(cuda::to_half_bits(1.0f) == 0x3C00);
  CHECK(cuda::to_half_bits(-2.0f) == 0xC000);
  CHECK(cuda::to_half_bits(0.0f) == 0x0000);
  CHECK(cuda::to_half_bits(-0.0f) == 0x8000);
  CHECK(cuda::to_half_bits(65504.0f) == 0x7BFF);
  CHECK(cuda::to_half_bits(65519.0f) == 0x7BFF);
  CHECK(cuda::to_half_bits(65520.0f) == 0x7C00);
  CHECK(cuda::to_half_bits(-INFINITY) == 0xFC00);
  const uint16_t nan = cuda::to_half_bits(NAN);
  CHECK((nan & 0x7C00) == 0x7C00);
  CHECK((nan & 0x03FF) != 0);
  CHECK(cuda::to_half_bits(std::ldexp(1.0f, -24)) == 0x0001);         // the smallest subnormal
  CHECK(cuda::to_half_bits(std::ldexp(1.0f, -25)) == 0x0000);         // a tie: to even (0)
  CHECK(cuda::to_half_bits(std::ldexp(3.0f, -25)) == 0x0002);         // a tie: to even (2)
  CHECK(cuda::to_half_bits(std::ldexp(1.0f, -14)) == 0x0400);         // the smallest normal
  CHECK(cuda::to_half_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // a tie: to even
  CHECK(cuda::to_half_bits(1.0f + std::ldexp(3.0f, -11)) == 0x3C02);  // a tie: to even
  CHECK(cuda::to_half_bits(1.0f + std::ldexp(1.0f, -12)) == 0x3C00);  // below the tie
  // Every binary16 value comes back exactly (what an f16 model's widened weights need).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = from_half_bits(uint16_t(h));
    if (std::isnan(v)) continue;
    if (cuda::to_half_bits(v) != h) {
      FAIL("binary16 " << h << " (" << v << ") came back as " << cuda::to_half_bits(v));
    }
  }
}

TEST_CASE("every GEMM weight has its own index") {
  for (const bool single_head : {false, true}) {
    const format::ModelConfig c = config_of(Precision::kInt8, single_head);
    std::set<size_t> seen;
    seen.insert(cuda::gemm_weight_index(c, plan::WeightRef::of(format::GlobalTensor::kPatchWeight), 0));
    seen.insert(cuda::gemm_weight_index(c, plan::WeightRef::of(format::GlobalTensor::kHeadWeight), 0));
    for (uint32_t b = 0; b < c.branches; ++b) {
      for (uint32_t k = 0; k < c.blocks_per_branch; ++k) {
        for (const plan::WeightRef& ref : block_gemm_refs(k)) seen.insert(cuda::gemm_weight_index(c, ref, b));
      }
    }
    CHECK(seen.size() == cuda::gemm_weight_count(c));
    CHECK(*seen.rbegin() == cuda::gemm_weight_count(c) - 1);
    CHECK_THROWS_AS(cuda::gemm_weight_index(c, block_gemm_refs(0)[0], c.branches), core::Error);
    CHECK_THROWS_AS(cuda::gemm_weight_index(c, plan::WeightRef::of(format::GlobalTensor::kHeadBias), 0), core::Error);
  }
}

TEST_CASE("int8 weights are packed padded with zeros, with their scales, for the device") {
  for (const bool single_head : {false, true}) {
    CAPTURE(single_head);
    const format::ModelConfig c = config_of(Precision::kInt8, single_head);
    const auto model = test::make_model(c, 5);
    const cuda::PackedGemmWeights packed = cuda::pack_gemm_weights(*model);
    REQUIRE(packed.pieces.size() == cuda::gemm_weight_count(c));
    CHECK(packed.precision == Precision::kInt8);
    size_t present = 0;
    for (uint32_t b = 0; b < c.branches; ++b) {
      std::vector<std::pair<plan::WeightRef, uint32_t>> refs;
      if (b == 0) {
        refs.push_back({plan::WeightRef::of(format::GlobalTensor::kPatchWeight), 0});
        refs.push_back({plan::WeightRef::of(format::GlobalTensor::kHeadWeight), 0});
      }
      for (uint32_t k = 0; k < c.blocks_per_branch; ++k) {
        for (const plan::WeightRef& ref : block_gemm_refs(k)) refs.push_back({ref, b});
      }
      for (const auto& [ref, branch] : refs) {
        const cuda::PackedGemmWeight& p = packed.pieces[cuda::gemm_weight_index(c, ref, branch)];
        const core::Int8Weight q = plan::resolve_int8(model->weights(), ref, branch);
        CHECK(p.present == (q.values != nullptr));
        if (!p.present) continue;
        ++present;
        CHECK(p.values % cuda::kGemmWeightAlignBytes == 0);
        CHECK(p.scales % cuda::kGemmWeightAlignBytes == 0);
        CHECK(p.ld == cuda::int8_gemm_shape(p.cols, p.rows).k);
        const size_t rows = cuda::int8_weight_rows(p.rows);
        REQUIRE(p.scales + rows * sizeof(float) <= packed.blob.size());
        bool values_ok = true, scales_ok = true;
        for (size_t r = 0; r < rows; ++r) {
          for (size_t k = 0; k < p.ld; ++k) {
            const int8_t want = r < p.rows && k < p.cols ? q.values[r * p.cols + k] : int8_t{0};
            values_ok = values_ok && int8_t(packed.blob[p.values + r * p.ld + k]) == want;
          }
          float scale;
          std::memcpy(&scale, packed.blob.data() + p.scales + r * sizeof(float), sizeof scale);
          scales_ok = scales_ok && scale == (r < p.rows ? q.scales[r] : 0.0f);
        }
        CHECK(values_ok);
        CHECK(scales_ok);
      }
    }
    CHECK(present == cuda::gemm_weight_count(c) - (single_head ? c.branches * c.blocks_per_branch : 0));
  }
}

TEST_CASE("every GEMM of the plan reads its layer's rows: padded int8 sums are the exact sums, f16 rows the model's") {
  for (const Precision p : {Precision::kInt8, Precision::kF16}) {
    CAPTURE(format::to_string(p));
    format::ModelConfig c = config_of(p);
    c.pooling = format::Pooling::kCls;  // the last block's class-row saving slices the QKV weight
    const auto model = test::make_model(c, 8);
    const cuda::PackedGemmWeights packed = cuda::pack_gemm_weights(*model);
    const plan::ExecutionPlan plan = cuda::session_plan(c, 2, 2);
    bool sliced = false;
    uint32_t seed = 20;
    for (const plan::LinearLayer& l : plan.linears()) {
      CAPTURE(l.name);
      sliced = sliced || l.first_row != 0;
      const uint32_t branches = l.weight.kind == plan::WeightRef::Kind::kBlock ? c.branches : 1;
      for (uint32_t b = 0; b < branches; ++b) {
        const cuda::PackedGemmWeight& piece = packed.pieces[cuda::gemm_weight_index(c, l.weight, b)];
        const cuda::GemmOperand o = cuda::gemm_operand(packed.blob.data(), piece, l.first_row);
        const auto* values = static_cast<const uint8_t*>(o.values);
        if (p == Precision::kF16) {
          const float* f = plan::resolve(model->weights(), l.weight, b) + size_t{l.first_row} * l.in;
          bool same = true;
          for (size_t n = 0; n < l.out; ++n) {
            for (size_t k = 0; k < l.in; ++k) {
              uint16_t h;
              std::memcpy(&h, values + (n * o.ld + k) * 2, 2);
              same = same && from_half_bits(h) == f[n * l.in + k];
            }
          }
          CHECK(same);
          continue;
        }
        // What cublasLt (or the own kernel) computes: m padded channels over k padded columns.
        const cuda::Int8GemmShape shape = cuda::int8_gemm_shape(l.in, l.out);
        CHECK(o.ld == shape.k);
        // Inside the piece's padded rows.
        REQUIRE(values + shape.m * shape.k <=
                packed.blob.data() + piece.values + cuda::int8_weight_rows(piece.rows) * piece.ld);
        const core::Int8Weight q = plan::resolve_int8(model->weights(), l.weight, b);
        const std::vector<float> x = test::random_floats(l.in, seed++);
        std::vector<int8_t> qx(shape.k, 0);
        float sx = 0.0f;
        reference::quantize_row(x.data(), l.in, qx.data(), &sx);
        bool exact = true, scales = true;
        for (size_t n = 0; n < l.out; ++n) {
          int32_t padded = 0, want = 0;
          for (size_t k = 0; k < shape.k; ++k) padded += int32_t(qx[k]) * int32_t(int8_t(values[n * shape.k + k]));
          for (size_t k = 0; k < l.in; ++k) want += int32_t(qx[k]) * int32_t(q.values[(l.first_row + n) * l.in + k]);
          exact = exact && padded == want;
          scales = scales && o.scales[n] == q.scales[l.first_row + n];
        }
        CHECK(exact);
        CHECK(scales);
      }
    }
    CHECK(sliced);
  }
}

TEST_CASE("f16 weights are packed as the model's binary16 values; f32 models pack nothing") {
  const format::ModelConfig c = config_of(Precision::kF16);
  const auto model = test::make_model(c, 6);
  const cuda::PackedGemmWeights packed = cuda::pack_gemm_weights(*model);
  REQUIRE(packed.pieces.size() == cuda::gemm_weight_count(c));
  const plan::WeightRef fc2 = plan::WeightRef::of(1, format::BlockTensor::kFc2Weight);
  for (const auto& [ref, branch] :
       {std::pair{plan::WeightRef::of(format::GlobalTensor::kHeadWeight), 0u}, std::pair{fc2, 1u}}) {
    const cuda::PackedGemmWeight& p = packed.pieces[cuda::gemm_weight_index(c, ref, branch)];
    REQUIRE(p.present);
    CHECK(p.values % cuda::kGemmWeightAlignBytes == 0);
    CHECK(p.ld == cuda::f16_row_halves(p.cols));
    const float* widened = plan::resolve(model->weights(), ref, branch);
    bool same = true;
    for (size_t r = 0; r < p.rows; ++r) {
      for (size_t k = 0; k < p.ld; ++k) {
        uint16_t h;
        std::memcpy(&h, packed.blob.data() + p.values + (r * p.ld + k) * 2, 2);
        same = same && from_half_bits(h) == (k < p.cols ? widened[r * p.cols + k] : 0.0f);
      }
    }
    CHECK(same);
  }
  CHECK(cuda::pack_gemm_weights(*test::make_model(config_of(Precision::kF32), 6)).pieces.empty());
}

TEST_CASE("the f32 device layout of f16 and int8 models leaves their GEMM weights out") {
  for (const Precision p : {Precision::kF16, Precision::kInt8}) {
    CAPTURE(format::to_string(p));
    const format::ModelConfig c = config_of(p);
    const auto model = test::make_model(c, 3);
    const cuda::WeightLayout layout = cuda::layout_weights(*model);
    CHECK(layout.pieces.size() == 3 + c.branches * c.blocks_per_branch * 7 + 3);  // no GEMM weight
    for (const auto& piece : layout.pieces) CHECK(piece.host != nullptr);
    std::vector<float> blob(layout.total_floats, 0.0f);
    const core::ModelWeights moved = cuda::rebase_weights(*model, layout, blob.data());
    CHECK(moved.patch_weight == nullptr);
    CHECK(moved.head_weight == nullptr);
    CHECK(moved.branches[1][1].fc1_weight == nullptr);
    CHECK(moved.branches[1][1].fc1_bias != nullptr);
    CHECK(moved.head_bias >= blob.data());
  }
}

TEST_CASE("cublasLt is loaded by name, and a missing library or function is a clear error") {
  CHECK(std::string(cuda::cublaslt_library_name()).rfind("libcublasLt.so.", 0) == 0);
  const cuda::CublasLtLoad missing = cuda::load_cublaslt("libpfrt-no-such-cublasLt.so");
  CHECK(missing.error.rfind("cannot load libpfrt-no-such-cublasLt.so: ", 0) == 0);
  CHECK(missing.error.find("install cublasLt of CUDA ") != std::string::npos);
  CHECK_FALSE(bool(missing.functions.matmul));
  const cuda::CublasLtLoad wrong = cuda::load_cublaslt("libm.so.6");  // loads, but is no cublasLt
  CHECK(wrong.error.rfind("libm.so.6 has no cublasLtCreate (older than the cublasLt of CUDA ", 0) == 0);
  // The toolkit's own (present wherever this was built): every function found.
  const cuda::CublasLtLoad real = cuda::load_cublaslt(cuda::cublaslt_library_name());
  CHECK(real.error.empty());
  CHECK(bool(real.functions.create));
  CHECK(bool(real.functions.matmul));
  CHECK(bool(real.functions.layout_destroy));
  CHECK_NOTHROW(cuda::cublaslt());
}

TEST_CASE("without a GPU the cuda backend fails an f16 or int8 session at the device, not as unsupported") {
  // Through the public API this is asked before the backend (test_cuda_host.cpp); the backend
  // itself, asked directly, no longer refuses the precision.
  if (!core::cuda_backend().unavailable_reason().empty()) {
    for (const Precision p : {Precision::kF16, Precision::kInt8}) {
      CAPTURE(format::to_string(p));
      try {
        (void)core::cuda_backend().create_session(test::make_model(config_of(p)), core::BackendOptions{});
        FAIL("a cuda session was created without a GPU");
      } catch (const core::Error& e) {
        CHECK(e.status() != PFRT_UNSUPPORTED);
        CHECK(std::string(e.what()).find("int8") == std::string::npos);
        CHECK(std::string(e.what()).find("cuda") != std::string::npos);
      }
    }
  } else {
    MESSAGE("a CUDA device is present: the GPU tests run f16 and int8 sessions");
  }
}
