#include "reference/reference_backend.hpp"

#include <algorithm>
#include <vector>

#include "plan/execution_plan.hpp"
#include "plan/prefix_rule.hpp"
#include "reference/ops.hpp"

namespace pfrt::core {

namespace {

namespace ops = pfrt::reference;
using format::ModelConfig;
using plan::ExecutionPlan;
using plan::Op;
using plan::Stage;
using plan::View;

// The reference attention's scratch: one row of scores.
size_t score_row(const plan::AttentionShape& shape) { return shape.tokens; }

// The execution plan run stage by stage with reference/ops, one row at a time, on one thread:
// branch by branch over the whole batch, so that when a run stops early every image has the
// same finished prefix of branches.
class ReferenceSession final : public BackendSession {
 public:
  ReferenceSession(std::shared_ptr<const Model> model, const plan::Shard& shard)
      : model_(std::move(model)), shard_(shard) {
    reserve(1);
  }

  std::string describe() const override {
    std::string gemms = "double accumulation";
    switch (plan_.quantization().precision) {
      case format::Precision::kInt8: gemms = "int8 GEMMs with exact int32 accumulation"; break;
      case format::Precision::kF16:
        gemms = "f16 weights widened to f32 when the model was opened, double accumulation";
        break;
      default: break;
    }
    return "reference: plain C++ loops, " + gemms + ", 1 thread; " + plan_.describe();
  }

  RunStatus run(const RunRequest& r, const RunControl& control, RunProfile& profile) override {
    reserve(r.batch);
    plan::Memory memory{r.input, r.logits, session_.data(), slot_.data()};
    // Every stage timed into the profile by its kind, with its operations.
    const auto stage = [&](const Stage& s, uint32_t branch, uint32_t prefix) {
      const Clock::time_point begin = Clock::now();
      run_stage(s, memory, r.batch, branch, prefix);
      profile.stage_ms[size_t(s.kind)] += elapsed_ms(begin, Clock::now());
      profile.stage_flops[size_t(s.kind)] += s.flops_per_image * r.batch;
    };
    const Clock::time_point start = Clock::now();
    for (const Stage& s : plan_.stem()) stage(s, 0, 0);
    const Clock::time_point stem_done = Clock::now();
    profile.stem_ms += elapsed_ms(start, stem_done);

    // This shard's branches (every branch unless sharded) in index order.
    StopReason stopped = StopReason::kNone;
    uint32_t finished = 0;
    for (uint32_t i = 0; i < shard_.owned_below(r.branches) && stopped == StopReason::kNone; ++i) {
      const uint32_t b = shard_.branch(i);
      const Clock::time_point branch_start = Clock::now();
      control.branch_started(b);
      for (const Stage& s : plan_.branch()) {
        if ((stopped = control.check()) != StopReason::kNone) break;
        stage(s, b, 0);
      }
      if (stopped != StopReason::kNone) break;
      finished = i + 1;
      profile.branch_ms[b] += elapsed_ms(branch_start, Clock::now());
    }
    const Clock::time_point branches_done = Clock::now();
    profile.branches_ms += elapsed_ms(stem_done, branches_done);

    const RunStatus status = plan::settle(control, stopped, shard_.finished_prefix(finished, r.branches), r);
    if (status.branches_used == 0) return status;
    for (const Stage& s : plan_.head()) {
      stage(s, 0, status.branches_used);
      if (s.op == Op::kMerge && control.shard != nullptr) {
        control.shard->reduce(plan::locate(plan_, memory, s.out), r.batch * s.out.cols);
      }
    }
    profile.head_ms += elapsed_ms(branches_done, Clock::now());
    return status;
  }

 private:
  // Plans and arenas for batches up to `batch` (grows once per larger batch, then reused).
  void reserve(size_t batch) {
    if (batch <= plan_.batch()) return;
    plan::PlanOptions options;
    options.batch = batch;
    options.threads = 1;
    options.attention_scratch = &score_row;
    options.shard = shard_;
    plan_ = ExecutionPlan(model_->config(), options);
    session_.assign(plan_.arena_floats(plan::Arena::kSession), 0.0f);
    slot_.assign(plan_.arena_floats(plan::Arena::kSlot), 0.0f);
  }

  // One stage over n images; `branch` selects a branch's weights and pooled row, `prefix` the
  // branches a merge sums.
  void run_stage(const Stage& s, const plan::Memory& memory, size_t n, uint32_t branch, uint32_t prefix) {
    const ModelConfig& c = model_->config();
    const ModelWeights& w = model_->weights();
    float* in = plan::locate(plan_, memory, s.in, branch);
    float* out = plan::locate(plan_, memory, s.out, branch);
    float* aux = s.has_aux ? plan::locate(plan_, memory, s.aux, branch) : nullptr;
    const auto row = [](float* base, const View& v, size_t image, size_t r) {
      return base + image * v.image_stride + r * v.row_stride;
    };
    switch (s.op) {
      case Op::kGatherPatches:
        for (size_t i = 0; i < n; ++i) {
          ops::gather_patches(row(in, s.in, i, 0), c.channels, c.image_size, c.patch_size, row(out, s.out, i, 0));
        }
        break;
      case Op::kLinear: {
        const plan::LinearLayer& l = plan_.linears()[s.linear];
        const float* bias = plan::resolve(w, l.bias, branch);
        const core::Int8Weight q = l.int8() ? plan::resolve_int8(w, l.weight, branch) : core::Int8Weight{};
        const float* weight = l.int8() ? nullptr : plan::resolve(w, l.weight, branch) + size_t{l.first_row} * l.in;
        quantized_.resize(l.in);
        for (size_t i = 0; i < n; ++i) {
          for (size_t r = 0; r < s.in.rows; ++r) {
            float* y = row(out, s.out, i, r);
            if (l.int8()) {
              ops::linear_int8(row(in, s.in, i, r), l.in, q.values + size_t{l.first_row} * l.in, q.scales + l.first_row,
                               bias, l.out, quantized_.data(), y);
            } else {
              ops::linear(row(in, s.in, i, r), 1, l.in, weight, bias, l.out, y);
            }
            if (s.activation == plan::Activation::kGelu) ops::gelu(y, l.out, c.gelu);
            if (aux != nullptr) {
              const float* base = row(aux, s.aux, i, r);
              for (size_t e = 0; e < l.out; ++e) y[e] = base[e] + y[e];
            }
          }
        }
        break;
      }
      case Op::kAssembleTokens: {
        const float* cls = plan::resolve(w, s.cls, branch);
        const float* pos = plan::resolve(w, s.pos, branch);
        const size_t d = s.out.cols;
        for (size_t i = 0; i < n; ++i) {
          for (size_t e = 0; e < d; ++e) row(out, s.out, i, 0)[e] = cls[e] + pos[e];
          for (size_t p = 0; p < s.in.rows; ++p) {
            const float* x = row(in, s.in, i, p);
            float* y = row(out, s.out, i, 1 + p);
            for (size_t e = 0; e < d; ++e) y[e] = x[e] + pos[(1 + p) * d + e];
          }
        }
        break;
      }
      case Op::kLayerNorm: {
        const float* gamma = plan::resolve(w, s.gamma, branch);
        const float* beta = plan::resolve(w, s.beta, branch);
        for (size_t i = 0; i < n; ++i) {
          for (size_t r = 0; r < s.in.rows; ++r) {
            ops::layer_norm(row(in, s.in, i, r), 1, s.in.cols, gamma, beta, c.layernorm_eps, row(out, s.out, i, r));
          }
        }
        break;
      }
      case Op::kAttention: {
        float* scores = slot_.data() + plan_.buffer(s.scratch).offset;
        for (size_t i = 0; i < n; ++i) {
          const float* k = row(aux, s.aux, i, 0);
          ops::attention_rows(row(in, s.in, i, 0), s.in.row_stride, k, k + c.inner_dim(), s.aux.row_stride, s.aux.rows,
                              s.in.rows, c.heads, c.head_dim, row(out, s.out, i, 0), s.out.row_stride, scores);
        }
        break;
      }
      case Op::kAdd:
        for (size_t i = 0; i < n; ++i) {
          for (size_t r = 0; r < s.in.rows; ++r) {
            const float* a = row(in, s.in, i, r);
            const float* b = row(aux, s.aux, i, r);
            float* y = row(out, s.out, i, r);
            for (size_t e = 0; e < s.out.cols; ++e) y[e] = a[e] + b[e];
          }
        }
        break;
      case Op::kMeanRows:
        for (size_t i = 0; i < n; ++i) {
          float* y = row(out, s.out, i, 0);
          for (size_t e = 0; e < s.in.cols; ++e) {
            double acc = 0.0;
            for (size_t r = 0; r < s.in.rows; ++r) acc += row(in, s.in, i, r)[e];
            y[e] = float(acc / double(s.in.rows));
          }
        }
        break;
      case Op::kMerge:
        for (size_t i = 0; i < n; ++i) {
          float* y = row(out, s.out, i, 0);
          std::fill(y, y + s.out.cols, 0.0f);
          for (uint32_t b = plan_.shard().rank; b < prefix; b += plan_.shard().ranks) {
            const float scale = c.merge_weights.empty() ? 1.0f : c.merge_weights[b];
            const float* x = row(plan::locate(plan_, memory, s.in, b), s.in, i, 0);
            for (size_t e = 0; e < s.out.cols; ++e) y[e] += scale * x[e];
          }
        }
        break;
    }
  }

  std::shared_ptr<const Model> model_;
  plan::Shard shard_;
  ExecutionPlan plan_;
  std::vector<float> session_, slot_;
  std::vector<int8_t> quantized_;  // an int8 GEMM's quantised input row
};

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }
  bool shards() const override { return true; }
  std::unique_ptr<BackendSession> create_session(std::shared_ptr<const Model> model,
                                                 const BackendOptions& options) const override {
    return std::make_unique<ReferenceSession>(std::move(model), options.shard);
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace pfrt::core
