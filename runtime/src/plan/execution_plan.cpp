#include "plan/execution_plan.hpp"

#include <algorithm>
#include <cstdio>

#include "plan/memory_plan.hpp"

namespace pfrt::plan {

using format::BlockTensor;
using format::GlobalTensor;
using format::ModelConfig;

const char* to_string(Op op) {
  switch (op) {
    case Op::kGatherPatches: return "gather patches";
    case Op::kLinear: return "linear";
    case Op::kAssembleTokens: return "assemble tokens";
    case Op::kLayerNorm: return "layer norm";
    case Op::kAttention: return "attention";
    case Op::kAdd: return "add";
    case Op::kMeanRows: return "mean of rows";
    case Op::kMerge: return "merge";
  }
  return "?";
}

const char* to_string(StageKind kind) {
  switch (kind) {
    case StageKind::kStem: return "stem";
    case StageKind::kQkv: return "qkv";
    case StageKind::kAttention: return "attention";
    case StageKind::kProjection: return "projection";
    case StageKind::kLayerNorm: return "layernorm";
    case StageKind::kFc1Gelu: return "fc1+gelu";
    case StageKind::kFc2: return "fc2";
    case StageKind::kAdd: return "add";
    case StageKind::kHead: return "head";
    case StageKind::kCount: break;
  }
  return "?";
}

namespace {

// What a branch stage is, from its operation and, for GEMMs, the layer's tensor.
StageKind branch_kind(const Stage& s, const std::vector<LinearLayer>& linears) {
  switch (s.op) {
    case Op::kLayerNorm: return StageKind::kLayerNorm;
    case Op::kAttention: return StageKind::kAttention;
    case Op::kAdd:
    case Op::kMeanRows: return StageKind::kAdd;
    case Op::kLinear:
      switch (linears[s.linear].weight.tensor) {
        case BlockTensor::kQkvWeight: return StageKind::kQkv;
        case BlockTensor::kOutWeight: return StageKind::kProjection;
        case BlockTensor::kFc1Weight: return StageKind::kFc1Gelu;
        default: return StageKind::kFc2;
      }
    default: return StageKind::kAdd;
  }
}

// Writes the stages of a plan and the buffers they use.
class Builder {
 public:
  Builder(const ModelConfig& c, const PlanOptions& options, uint32_t slot_threads, std::vector<Buffer>& buffers,
          std::vector<LinearLayer>& linears)
      : c_(c),
        options_(options),
        slot_threads_(slot_threads),
        n_(options.batch),
        buffers_(buffers),
        linears_(linears) {}

  BufferId buffer(const std::string& name, Arena arena, size_t floats) {
    buffers_.push_back(Buffer{name, arena, floats, 0});
    return BufferId(buffers_.size() - 1);
  }

  // n images of `rows` x `cols`, back to back.
  static View dense(BufferId id, uint32_t rows, uint32_t cols) {
    View v;
    v.buffer = id;
    v.rows = rows;
    v.cols = cols;
    v.row_stride = cols;
    v.image_stride = size_t{rows} * cols;
    return v;
  }

  // A new buffer of n images of `rows` x `cols` and its dense view.
  View fresh(const std::string& name, Arena arena, uint32_t rows, uint32_t cols) {
    return dense(buffer(name, arena, n_ * rows * cols), rows, cols);
  }

  // Columns [first, first + cols) of `v`.
  static View columns(View v, uint32_t first, uint32_t cols) {
    v.offset += first;
    v.cols = cols;
    return v;
  }

  // Row 0 of every image of `v`.
  static View first_row(View v) {
    v.rows = 1;
    return v;
  }

  uint32_t linear(const std::string& name, WeightRef weight, uint32_t first_row, uint32_t in, uint32_t out,
                  WeightRef bias) {
    linears_.push_back(LinearLayer{name, weight, first_row, in, out, bias, c_.quantization});
    return uint32_t(linears_.size() - 1);
  }

  Stage linear_stage(uint32_t layer, const LinearLayer& l, const View& in, const View& out,
                     Activation activation = Activation::kNone, const View* residual = nullptr) {
    Stage s{};
    s.op = Op::kLinear;
    s.linear = layer;
    s.in = in;
    s.out = out;
    s.activation = activation;
    if (residual != nullptr) {
      s.aux = *residual;
      s.has_aux = true;
    }
    s.flops_per_image = 2ull * in.rows * l.in * l.out;
    const bool f16 = l.quantization.precision == format::Precision::kF16;
    const Int8Scratch* scratch = l.int8() ? &options_.int8_scratch : f16 ? &options_.f16_scratch : nullptr;
    if (scratch != nullptr && *scratch) {
      const Arena arena = buffers_[in.buffer].arena == Arena::kSlot ? Arena::kSlot : Arena::kSession;
      s.scratch = buffer(l.name + (f16 ? " half input" : " quantised input"), arena, (*scratch)(layer, n_ * in.rows));
      s.has_scratch = true;
    }
    return s;
  }

  Stage layer_norm(const View& in, const View& out, WeightRef gamma, WeightRef beta) const {
    Stage s{};
    s.op = Op::kLayerNorm;
    s.in = in;
    s.out = out;
    s.gamma = gamma;
    s.beta = beta;
    return s;
  }

  Stage attention(const std::string& name, const View& q, const View& keys, const View& out) {
    Stage s{};
    s.op = Op::kAttention;
    s.in = q;
    s.aux = keys;
    s.has_aux = true;
    s.out = out;
    s.flops_per_image = 2ull * 2 * q.rows * keys.rows * c_.inner_dim();
    if (options_.attention_scratch != nullptr) {
      const AttentionShape shape{n_, c_.heads, c_.tokens(), c_.head_dim, q.rows, slot_threads_};
      s.scratch = buffer(name + " scratch", Arena::kSlot, options_.attention_scratch(shape));
      s.has_scratch = true;
    }
    return s;
  }

  static Stage add(const View& a, const View& b, const View& out) {
    Stage s{};
    s.op = Op::kAdd;
    s.in = a;
    s.aux = b;
    s.has_aux = true;
    s.out = out;
    return s;
  }

  // The stem: x0 (n images of T x D) from the input images.
  void stem(std::vector<Stage>& stages, View& x0) {
    const uint32_t d = c_.embed_dim, patches = c_.patches(), patch_dim = c_.patch_dim();
    View input;
    input.buffer = buffer("input", Arena::kInput, n_ * size_t(c_.image_floats()));
    input.rows = 1;
    input.cols = uint32_t(c_.image_floats());
    input.row_stride = input.image_stride = c_.image_floats();
    const View gathered = fresh("patches", Arena::kSession, patches, patch_dim);
    Stage gather{};
    gather.op = Op::kGatherPatches;
    gather.in = input;
    gather.out = gathered;
    stages.push_back(gather);

    const View embedded = fresh("patch embedding", Arena::kSession, patches, d);
    const uint32_t layer = linear("stem", WeightRef::of(GlobalTensor::kPatchWeight), 0, patch_dim, d,
                                  WeightRef::of(GlobalTensor::kPatchBias));
    stages.push_back(linear_stage(layer, linears_[layer], gathered, embedded));

    x0 = fresh("x0", Arena::kSession, c_.tokens(), d);
    Stage tokens{};
    tokens.op = Op::kAssembleTokens;
    tokens.in = embedded;
    tokens.out = x0;
    tokens.cls = WeightRef::of(GlobalTensor::kClsToken);
    tokens.pos = WeightRef::of(GlobalTensor::kPosEmbedding);
    stages.push_back(tokens);
  }

  // One branch's blocks from x0 to its pooled row (pooled: one row per image, the branch's
  // slice selected by branch_stride).
  void branch(std::vector<Stage>& stages, const View& x0, const View& pooled) {
    const uint32_t t = c_.tokens(), d = c_.embed_dim, inner = c_.inner_dim(), m = c_.mlp_dim;
    const bool prenorm = c_.residual == format::Residual::kPreNorm;
    View z = x0;
    for (uint32_t j = 0; j < c_.blocks_per_branch; ++j) {
      const std::string block = "block " + std::to_string(j);
      const bool last = j + 1 == c_.blocks_per_branch;
      const bool class_row = last && c_.pooling == format::Pooling::kCls;
      const size_t first = stages.size();

      const View a = fresh(block + " attention norm", Arena::kSlot, t, d);
      stages.push_back(layer_norm(z, a, WeightRef::of(j, BlockTensor::kAttnNormWeight),
                                  WeightRef::of(j, BlockTensor::kAttnNormBias)));
      // The residual's base: the normalised input (the authors' form) or the input (pre-norm).
      const View base1 = prenorm ? z : a;
      const uint32_t rows = class_row ? 1 : t;  // query rows that go on past the keys and values

      View attended;
      if (class_row) {
        // Keys and values of every row (weight rows [inner, 3 inner)), the query of row 0.
        const View kv = fresh(block + " keys and values", Arena::kSlot, t, 2 * inner);
        const uint32_t kv_layer =
            linear(block + " kv", WeightRef::of(j, BlockTensor::kQkvWeight), inner, d, 2 * inner, {});
        stages.push_back(linear_stage(kv_layer, linears_[kv_layer], a, kv));
        const View q = fresh(block + " class-row query", Arena::kSlot, 1, inner);
        const uint32_t q_layer =
            linear(block + " class-row q", WeightRef::of(j, BlockTensor::kQkvWeight), 0, d, inner, {});
        stages.push_back(linear_stage(q_layer, linears_[q_layer], first_row(a), q));
        attended = fresh(block + " attention", Arena::kSlot, 1, inner);
        stages.push_back(attention(block + " attention", q, columns(kv, 0, inner), attended));
      } else {
        const View qkv = fresh(block + " qkv", Arena::kSlot, t, 3 * inner);
        const uint32_t qkv_layer =
            linear(block + " qkv", WeightRef::of(j, BlockTensor::kQkvWeight), 0, d, 3 * inner, {});
        stages.push_back(linear_stage(qkv_layer, linears_[qkv_layer], a, qkv));
        attended = fresh(block + " attention", Arena::kSlot, t, inner);
        stages.push_back(attention(block + " attention", columns(qkv, 0, inner), columns(qkv, inner, inner), attended));
      }

      const View residual1 = class_row ? first_row(base1) : base1;
      const View z1 = fresh(block + " attention output", Arena::kSlot, rows, d);
      if (c_.project_out()) {
        const uint32_t out_layer = linear(block + " output projection", WeightRef::of(j, BlockTensor::kOutWeight), 0,
                                          inner, d, WeightRef::of(j, BlockTensor::kOutBias));
        stages.push_back(linear_stage(out_layer, linears_[out_layer], attended, z1, Activation::kNone, &residual1));
      } else {  // one head spanning the width: the attention output is the update
        stages.push_back(add(residual1, attended, z1));
      }

      const View c = fresh(block + " mlp norm", Arena::kSlot, rows, d);
      stages.push_back(layer_norm(z1, c, WeightRef::of(j, BlockTensor::kMlpNormWeight),
                                  WeightRef::of(j, BlockTensor::kMlpNormBias)));
      const View hidden = fresh(block + " mlp hidden", Arena::kSlot, rows, m);
      const uint32_t fc1 = linear(block + " fc1", WeightRef::of(j, BlockTensor::kFc1Weight), 0, d, m,
                                  WeightRef::of(j, BlockTensor::kFc1Bias));
      stages.push_back(linear_stage(fc1, linears_[fc1], c, hidden, Activation::kGelu));
      const View base2 = prenorm ? z1 : c;
      const uint32_t fc2 = linear(block + " fc2", WeightRef::of(j, BlockTensor::kFc2Weight), 0, m, d,
                                  WeightRef::of(j, BlockTensor::kFc2Bias));
      if (class_row) {  // row 0 is the branch's pooled output
        stages.push_back(linear_stage(fc2, linears_[fc2], hidden, pooled, Activation::kNone, &base2));
      } else {
        const View z2 = fresh(block + " output", Arena::kSlot, t, d);
        stages.push_back(linear_stage(fc2, linears_[fc2], hidden, z2, Activation::kNone, &base2));
        if (last) {  // mean pooling
          Stage mean{};
          mean.op = Op::kMeanRows;
          mean.in = z2;
          mean.out = pooled;
          stages.push_back(mean);
        }
        z = z2;
      }
      for (size_t s = first; s < stages.size(); ++s) stages[s].block = j;
    }
  }

  // Merge of the branches' pooled rows, LayerNorm, classifier.
  void head(std::vector<Stage>& stages, const View& pooled) {
    const uint32_t d = c_.embed_dim;
    const View merged = fresh("merged", Arena::kSession, 1, d);
    Stage merge{};
    merge.op = Op::kMerge;
    merge.in = pooled;
    merge.out = merged;
    stages.push_back(merge);
    const View normed = fresh("head norm", Arena::kSession, 1, d);
    stages.push_back(layer_norm(merged, normed, WeightRef::of(GlobalTensor::kHeadNormWeight),
                                WeightRef::of(GlobalTensor::kHeadNormBias)));
    const View logits = dense(buffer("logits", Arena::kLogits, n_ * c_.classes), 1, c_.classes);
    const uint32_t layer = linear("head", WeightRef::of(GlobalTensor::kHeadWeight), 0, d, c_.classes,
                                  WeightRef::of(GlobalTensor::kHeadBias));
    stages.push_back(linear_stage(layer, linears_[layer], normed, logits));
  }

 private:
  const ModelConfig& c_;
  const PlanOptions& options_;
  size_t slot_threads_;
  size_t n_;
  std::vector<Buffer>& buffers_;
  std::vector<LinearLayer>& linears_;
};

// Steps at which each buffer of `arena` is used; buffers of other arenas are left at {0, 0}.
void note_use(std::vector<Lifetime>& lives, std::vector<bool>& seen, const Stage& s, uint32_t step) {
  const auto use = [&](const View& v) {
    Lifetime& l = lives[v.buffer];
    if (!seen[v.buffer]) {
      l.first = step;
      seen[v.buffer] = true;
    }
    l.first = std::min(l.first, step);
    l.last = std::max(l.last, step);
  };
  use(s.in);
  use(s.out);
  if (s.has_aux) use(s.aux);
  if (s.has_scratch) {
    View scratch;
    scratch.buffer = s.scratch;
    use(scratch);
  }
}

// Offsets for the buffers of `arena`, from their uses in `steps` (groups of stages in
// execution order: the buffers of one group are live together), with extra uses given as
// (buffer, step).
size_t place(std::vector<Buffer>& buffers, Arena arena, const std::vector<std::vector<const Stage*>>& steps,
             const std::vector<std::pair<BufferId, uint32_t>>& extra_uses) {
  std::vector<Lifetime> lives(buffers.size());
  std::vector<bool> seen(buffers.size(), false);
  for (uint32_t step = 0; step < steps.size(); ++step) {
    for (const Stage* s : steps[step]) note_use(lives, seen, *s, step);
  }
  for (const auto& [id, step] : extra_uses) {
    lives[id].first = seen[id] ? std::min(lives[id].first, step) : step;
    lives[id].last = std::max(lives[id].last, step);
    seen[id] = true;
  }
  std::vector<BufferId> ids;
  std::vector<Lifetime> arena_lives;
  for (BufferId id = 0; id < buffers.size(); ++id) {
    if (buffers[id].arena != arena) continue;
    ids.push_back(id);
    Lifetime l = lives[id];
    l.floats = buffers[id].floats;
    arena_lives.push_back(l);
  }
  const MemoryPlan memory = plan_memory(arena_lives);
  for (size_t i = 0; i < ids.size(); ++i) buffers[ids[i]].offset = memory.offsets[i];
  return memory.total_floats;
}

}  // namespace

ExecutionPlan::ExecutionPlan(const ModelConfig& config, const PlanOptions& options)
    : config_(config), batch_(std::max<size_t>(options.batch, 1)), shard_(options.shard) {
  PlanOptions o = options;
  o.batch = batch_;
  // A shard's slots are for the branches it owns.
  const uint32_t branches = std::max(1u, shard_.owned_below(config.branches));
  if (o.max_slots != 0) {
    threads_ = plan_threads(std::min(o.max_slots, branches), branches);
  } else {
    threads_ = plan_threads(std::max(o.threads, 1u), branches);
  }
  Builder b(config_, o, threads_.most_slot_threads(), buffers_, linears_);
  View x0;
  b.stem(stem_, x0);
  View pooled = Builder::dense(
      b.buffer("pooled", Arena::kSession, size_t{config_.branches} * batch_ * config_.embed_dim), 1, config_.embed_dim);
  pooled.branch_stride = batch_ * config_.embed_dim;
  b.branch(branch_, x0, pooled);
  b.head(head_, pooled);
  for (Stage& s : stem_) s.kind = StageKind::kStem;
  for (Stage& s : branch_) s.kind = branch_kind(s, linears_);
  for (Stage& s : head_) s.kind = StageKind::kHead;

  // Session arena: the stem as one step (a backend may run its stages row block by row block,
  // several blocks at once, so its buffers are live together), one step for the whole branch
  // phase (every branch reads x0 and writes its pooled row while the others run), then the
  // head's steps.
  std::vector<std::vector<const Stage*>> session_steps(1);
  for (const Stage& s : stem_) session_steps[0].push_back(&s);
  const uint32_t branch_phase = uint32_t(session_steps.size());
  session_steps.emplace_back();
  for (const Stage& s : head_) session_steps.push_back({&s});
  session_floats_ =
      place(buffers_, Arena::kSession, session_steps, {{x0.buffer, branch_phase}, {pooled.buffer, branch_phase}});

  std::vector<std::vector<const Stage*>> slot_steps;
  for (const Stage& s : branch_) slot_steps.push_back({&s});
  slot_floats_ = place(buffers_, Arena::kSlot, slot_steps, {});
}

size_t ExecutionPlan::arena_floats(Arena arena) const {
  return arena == Arena::kSession ? session_floats_ : arena == Arena::kSlot ? slot_floats_ : 0;
}

format::OperationCount ExecutionPlan::operation_count() const {
  format::OperationCount ops;
  for (const Stage& s : stem_) ops.stem += s.flops_per_image;
  for (const Stage& s : branch_) ops.per_branch += s.flops_per_image;
  for (const Stage& s : head_) ops.head += s.flops_per_image;
  return ops;
}

std::string ExecutionPlan::describe() const {
  const auto mib = [](size_t floats) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f MiB", double(floats) * sizeof(float) / (1024.0 * 1024.0));
    return std::string(text);
  };
  const std::string shard = shard_.ranks > 1 ? "; rank " + std::to_string(shard_.rank) + " of " +
                                                   std::to_string(shard_.ranks) + " runs the branches b with b mod " +
                                                   std::to_string(shard_.ranks) + " = " + std::to_string(shard_.rank)
                                             : std::string();
  return threads_.describe() + shard + "; activations " + mib(session_floats_) + " + " + std::to_string(slots()) +
         " x " + mib(slot_floats_) + " for batch " + std::to_string(batch_) + "; GEMMs " +
         config_.quantization.describe();
}

float* locate(const ExecutionPlan& plan, const Memory& memory, const View& view, uint32_t branch) {
  const Buffer& b = plan.buffer(view.buffer);
  float* base = nullptr;
  switch (b.arena) {
    case Arena::kInput: base = const_cast<float*>(memory.input); break;  // read only: stages never write kInput
    case Arena::kLogits: base = memory.logits; break;
    case Arena::kSession: base = memory.session; break;
    case Arena::kSlot: base = memory.slot; break;
  }
  return base + b.offset + view.offset + size_t{branch} * view.branch_stride;
}

}  // namespace pfrt::plan
