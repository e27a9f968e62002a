// The execution plan (runtime/src/plan/), pure and backend-neutral: its stages against the
// network of docs/network.md (operation count, class-row saving, shapes), its memory (every view
// inside its buffer, no two live buffers overlapping, space reused), the thread split, the
// branch schedule and the prefix rule; and the plan-driven reference backend against a direct
// implementation of the network (support/naive_forward) on every shape, batch and prefix,
// max |diff| <= 2e-5 x max(1, max |logit|) (both accumulate in double; they differ only in
// the order of float sums: pooling before or after the merge).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "plan/execution_plan.hpp"
#include "plan/memory_plan.hpp"
#include "plan/prefix_rule.hpp"
#include "plan/thread_plan.hpp"
#include "support/model_cases.hpp"
#include "support/naive_forward.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using plan::Arena;
using plan::ExecutionPlan;
using plan::Op;
using plan::Stage;
using plan::View;

namespace {

format::ModelConfig deit(uint32_t branches, uint32_t blocks, format::Pooling pooling) {
  format::ModelConfig c = test::deit_tiny_config(branches, blocks);
  c.pooling = pooling;
  return c;
}

std::vector<format::ModelConfig> configs() {
  std::vector<format::ModelConfig> out;
  for (const test::ShapeCase& k : test::shape_cases()) out.push_back(k.config);
  for (const auto pooling : {format::Pooling::kCls, format::Pooling::kMean}) {
    for (const uint32_t blocks : {1u, 2u, 3u}) out.push_back(deit(4, blocks, pooling));
  }
  return out;
}

size_t scratch_of(const plan::AttentionShape& s) { return s.batch * s.heads * (s.tokens + 3) + 7 * s.threads; }

ExecutionPlan make_plan(const format::ModelConfig& c, size_t batch, uint32_t threads = 2) {
  plan::PlanOptions options;
  options.batch = batch;
  options.threads = threads;
  options.attention_scratch = &scratch_of;
  return ExecutionPlan(c, options);
}

// Stages with the step at which their buffers are live: the stem is one step (its stages may
// run row block by row block, at once), then the branch phase, the branch's stages, the head's.
template <class F>
void for_each_stage(const ExecutionPlan& p, F&& f) {
  uint32_t step = 0;
  for (const Stage& s : p.stem()) f(s, step);
  step += 2;  // the stem, the branch phase
  for (const Stage& s : p.branch()) f(s, step++);
  for (const Stage& s : p.head()) f(s, step++);
}

// Floats from the buffer's start past the last one `v` touches for `batch` images and `branches`.
size_t view_extent(const View& v, size_t batch, uint32_t branches) {
  return v.offset + (branches - 1) * v.branch_stride + (batch - 1) * v.image_stride + (v.rows - 1) * v.row_stride +
         v.cols;
}

}  // namespace

TEST_CASE("the plan's operation count is the documented one: the class-row saving is in the plan") {
  for (const format::ModelConfig& c : configs()) {
    CAPTURE(c.blocks_per_branch);
    const format::OperationCount want = format::operation_count(c);
    const format::OperationCount got = make_plan(c, 1).operation_count();
    CHECK(got.stem == want.stem);
    CHECK(got.per_branch == want.per_branch);
    CHECK(got.head == want.head);
  }
}

TEST_CASE("the last block of a class-token branch computes keys and values of every row, the rest for row 0") {
  const format::ModelConfig c = deit(3, 2, format::Pooling::kCls);
  const ExecutionPlan p = make_plan(c, 2);
  const uint32_t t = c.tokens(), d = c.embed_dim;
  std::vector<const Stage*> last;
  for (const Stage& s : p.branch()) {
    if (s.block == 1) last.push_back(&s);
  }
  REQUIRE(last.size() == 8);  // LN, kv, q, attention, projection, LN, fc1, fc2
  CHECK(last[0]->op == Op::kLayerNorm);
  CHECK(last[0]->out.rows == t);
  CHECK(last[1]->op == Op::kLinear);
  CHECK(last[1]->in.rows == t);
  CHECK(p.linears()[last[1]->linear].first_row == c.inner_dim());  // k and v rows of the QKV weight
  CHECK(p.linears()[last[1]->linear].out == 2 * c.inner_dim());
  CHECK(last[2]->in.rows == 1);                         // the query of row 0 ...
  CHECK(last[2]->in.matrix_stride() == size_t{t} * d);  // ... read from every image's first row
  CHECK(p.linears()[last[2]->linear].first_row == 0);
  CHECK(last[3]->op == Op::kAttention);
  CHECK(last[3]->in.rows == 1);
  CHECK(last[3]->aux.rows == t);
  for (size_t i = 4; i < last.size(); ++i) CHECK(last[i]->out.rows == 1);
  // fc2 writes the branch's pooled row: one slice per branch in the session arena.
  const Stage& fc2 = *last.back();
  CHECK(p.buffer(fc2.out.buffer).name == "pooled");
  CHECK(fc2.out.branch_stride == size_t{2} * d);
  CHECK(fc2.has_aux);  // the residual, read from row 0 of the normalised rows
  // The first block computes every row, and nothing is pooled by averaging.
  for (const Stage& s : p.branch()) {
    if (s.block == 0 && s.op != Op::kLayerNorm) CHECK(s.out.rows == t);
    CHECK(s.op != Op::kMeanRows);
  }
}

TEST_CASE("mean pooling: every block computes every row, the last output is averaged into the pooled row") {
  const format::ModelConfig c = deit(2, 2, format::Pooling::kMean);
  const ExecutionPlan p = make_plan(c, 1);
  for (const Stage& s : p.branch()) {
    if (s.op != Op::kMeanRows) CHECK(s.out.rows == c.tokens());
  }
  REQUIRE(p.branch().back().op == Op::kMeanRows);
  CHECK(p.buffer(p.branch().back().out.buffer).name == "pooled");
}

TEST_CASE("every view of every stage lies inside its buffer, for every batch capacity") {
  for (const format::ModelConfig& c : configs()) {
    for (const size_t batch : {1, 2, 5}) {
      CAPTURE(batch);
      const ExecutionPlan p = make_plan(c, batch);
      for_each_stage(p, [&](const Stage& s, uint32_t) {
        CAPTURE(plan::to_string(s.op));
        std::vector<View> views{s.in, s.out};
        if (s.has_aux) views.push_back(s.aux);
        for (const View& v : views) {
          CAPTURE(p.buffer(v.buffer).name);
          const uint32_t branches = v.branch_stride != 0 ? c.branches : 1;
          CHECK(view_extent(v, batch, branches) <= p.buffer(v.buffer).floats);
          CHECK(v.row_stride >= v.cols);
        }
        if (s.op == Op::kLinear) {  // a GEMM reads and writes matrices with one row stride
          CHECK(s.in.uniform());
          CHECK(s.out.uniform());
          CHECK(s.in.cols == p.linears()[s.linear].in);
          CHECK(s.out.cols == p.linears()[s.linear].out);
        }
        if (s.op == Op::kLayerNorm) CHECK(s.in.dense());
      });
    }
  }
}

TEST_CASE("buffers used at the same step never overlap, and arena space is reused") {
  for (const format::ModelConfig& c : configs()) {
    const ExecutionPlan p = make_plan(c, 3);
    // Lifetimes recomputed here from the stages, independently of the planner.
    std::vector<plan::Lifetime> lives(p.buffers().size());
    std::vector<bool> used(p.buffers().size(), false);
    const auto note = [&](plan::BufferId id, uint32_t step) {
      plan::Lifetime& l = lives[id];
      l.first = used[id] ? std::min(l.first, step) : step;
      l.last = used[id] ? std::max(l.last, step) : step;
      used[id] = true;
    };
    const uint32_t branch_phase = 1;
    for_each_stage(p, [&](const Stage& s, uint32_t step) {
      note(s.in.buffer, step);
      note(s.out.buffer, step);
      if (s.has_aux) note(s.aux.buffer, step);
      if (s.has_scratch) note(s.scratch, step);
      // A branch's session buffers (x0, pooled) are live for the whole branch phase.
      if (step > branch_phase && step <= branch_phase + p.branch().size()) {
        for (plan::BufferId id : {s.in.buffer, s.out.buffer, s.aux.buffer}) {
          if (p.buffer(id).arena == Arena::kSession) note(id, branch_phase);
        }
      }
    });
    for (const Arena arena : {Arena::kSession, Arena::kSlot}) {
      size_t sum = 0;
      std::vector<plan::Lifetime> in_arena;
      plan::MemoryPlan placed;
      for (plan::BufferId id = 0; id < p.buffers().size(); ++id) {
        if (p.buffer(id).arena != arena) continue;
        REQUIRE(used[id]);
        plan::Lifetime l = lives[id];
        // Branch stages run at slot steps; session buffers at session steps: both orders are
        // the execution order, so one step numbering serves both arenas.
        l.floats = p.buffer(id).floats;
        in_arena.push_back(l);
        placed.offsets.push_back(p.buffer(id).offset);
        sum += plan::padded_floats(l.floats);
      }
      placed.total_floats = p.arena_floats(arena);
      CHECK(plan::check_memory(in_arena, placed) == "");
      if (arena == Arena::kSlot) CHECK(p.arena_floats(arena) < sum);  // something was reused
    }
  }
}

TEST_CASE("the memory planner: random lifetimes never overlap, and the checker catches an overlap") {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<plan::Lifetime> buffers(1 + rng() % 30);
    for (plan::Lifetime& b : buffers) {
      b.floats = rng() % 5000;
      b.first = rng() % 40;
      b.last = b.first + rng() % 10;
    }
    const plan::MemoryPlan placed = plan::plan_memory(buffers);
    REQUIRE(plan::check_memory(buffers, placed) == "");
    size_t sum = 0;
    for (const plan::Lifetime& b : buffers) sum += plan::padded_floats(b.floats);
    CHECK(placed.total_floats <= sum);
  }
  const std::vector<plan::Lifetime> two{{100, 0, 3}, {100, 2, 5}};
  plan::MemoryPlan bad;
  bad.offsets = {0, 64};
  bad.total_floats = 1000;
  CHECK(plan::check_memory(two, bad).find("overlap") != std::string::npos);
  const std::vector<plan::Lifetime> apart{{100, 0, 1}, {100, 2, 5}};
  const plan::MemoryPlan shared = plan::plan_memory(apart);
  CHECK(shared.offsets[0] == shared.offsets[1]);  // dead before the other is born: same space
}

TEST_CASE("threads: slots = min(threads, branches), helpers make up the rest") {
  struct Want {
    uint32_t threads, branches;
    std::vector<uint32_t> slots;
  };
  for (const Want& w :
       {Want{1, 1, {1}}, Want{1, 8, {1}}, Want{2, 1, {2}}, Want{2, 2, {1, 1}}, Want{3, 8, {1, 1, 1}},
        Want{8, 3, {3, 3, 2}}, Want{4, 2, {2, 2}}, Want{7, 7, {1, 1, 1, 1, 1, 1, 1}}, Want{16, 5, {4, 3, 3, 3, 3}}}) {
    CAPTURE(w.threads);
    CAPTURE(w.branches);
    const plan::ThreadPlan p = plan::plan_threads(w.threads, w.branches);
    CHECK(p.slot_threads == w.slots);
    uint32_t total = 0;
    for (uint32_t t : p.slot_threads) total += t;
    CHECK(total == w.threads);
  }
  // The allocation-free form a run uses for fewer threads gives the same split.
  for (uint32_t threads = 1; threads <= 17; ++threads) {
    for (uint32_t branches = 1; branches <= 13; ++branches) {
      const plan::ThreadPlan p = plan::plan_threads(threads, branches);
      REQUIRE(plan::slot_count(threads, branches) == p.slots());
      for (uint32_t s = 0; s <= p.slots(); ++s) {
        CHECK(plan::threads_of_slot(threads, branches, s) == (s < p.slots() ? p.slot_threads[s] : 0u));
      }
    }
  }
  CHECK(plan::plan_threads(8, 3).describe() == "3 branch slots x 3-2 threads");
  CHECK(plan::plan_threads(2, 5).describe() == "2 branch slots x 1 thread, 5 branches queued in index order");
  CHECK(plan::plan_threads(4, 1).describe() == "1 branch slot x 4 threads");
}

TEST_CASE("the branch schedule: slots from threads, or at most max_slots streams of one thread; round-robin queues") {
  format::ModelConfig c = test::tiny_config();
  c.branches = 5;
  CHECK(make_plan(c, 1, 3).slots() == 3);
  plan::PlanOptions streams;
  streams.max_slots = 2;
  const ExecutionPlan p(c, streams);
  REQUIRE(p.slots() == 2);
  CHECK(p.threads().slot_threads == std::vector<uint32_t>{1, 1});
  for (uint32_t b = 0; b < c.branches; ++b) CHECK(p.queued_slot(b) == b % 2);
  streams.max_slots = 64;
  CHECK(ExecutionPlan(c, streams).slots() == 5);  // never more streams than branches
}

TEST_CASE("the prefix rule: the full prefix, the longest finished one under a deadline, or none") {
  using core::StopReason;
  const std::vector<bool> done{true, true, false, true};
  CHECK(plan::finished_prefix(4, [&](uint32_t b) { return bool(done[b]); }) == 2);
  CHECK(plan::finished_prefix(1, [&](uint32_t b) { return bool(done[b]); }) == 1);
  CHECK(plan::finished_prefix(4, [](uint32_t) { return false; }) == 0);

  struct Case {
    StopReason stopped;
    uint32_t prefix, asked;
    bool best;
    uint32_t used;
  };
  for (const Case k : {Case{StopReason::kNone, 4, 4, false, 4}, Case{StopReason::kNone, 4, 4, true, 4},
                       Case{StopReason::kDeadline, 2, 4, true, 2}, Case{StopReason::kDeadline, 0, 4, true, 0},
                       Case{StopReason::kDeadline, 2, 4, false, 0}, Case{StopReason::kCancelled, 3, 4, true, 0},
                       Case{StopReason::kDeadline, 4, 4, true, 4}}) {
    const core::RunStatus s = plan::settle(k.stopped, k.prefix, k.asked, k.best);
    CHECK(s.stopped == k.stopped);
    CHECK(s.branches_used == k.used);
  }
}

TEST_CASE("the plan-driven reference backend equals the network written out directly, every prefix") {
  for (const test::ShapeCase& k : test::shape_cases()) {
    CAPTURE(k.name);
    const format::ModelConfig& c = k.config;
    const auto model = test::make_model(c, 21);
    core::Session reference(model, {"reference", 1, 0});
    for (const size_t batch : {1, 3}) {
      const std::vector<float> input = test::random_floats(batch * c.image_floats(), uint32_t(30 + batch));
      for (uint32_t prefix = 1; prefix <= c.branches; ++prefix) {
        CAPTURE(prefix);
        std::vector<float> want;
        for (size_t i = 0; i < batch; ++i) {
          const std::vector<float> one = test::naive_logits(*model, input.data() + i * c.image_floats(), prefix);
          want.insert(want.end(), one.begin(), one.end());
        }
        CHECK(test::relative_error(test::run_logits(reference, input, prefix), want) <= 2e-5);
      }
    }
  }
}

TEST_CASE("every stage is labelled with what it is, for per-stage profiles") {
  using K = plan::StageKind;
  const ExecutionPlan p = make_plan(deit(2, 1, format::Pooling::kCls), 1);
  for (const Stage& s : p.stem()) CHECK(s.kind == K::kStem);
  for (const Stage& s : p.head()) CHECK(s.kind == K::kHead);
  std::vector<K> kinds;
  for (const Stage& s : p.branch()) kinds.push_back(s.kind);
  CHECK(kinds == std::vector<K>{K::kLayerNorm, K::kQkv, K::kQkv, K::kAttention, K::kProjection, K::kLayerNorm,
                                K::kFc1Gelu, K::kFc2});
  format::ModelConfig one_head = test::tiny_config();  // no projection: the residual is an add
  one_head.heads = 1;
  one_head.head_dim = one_head.embed_dim;
  one_head.pooling = format::Pooling::kMean;
  kinds.clear();
  const ExecutionPlan q = make_plan(one_head, 1);
  for (const Stage& s : q.branch()) kinds.push_back(s.kind);
  CHECK(kinds ==
        std::vector<K>{K::kLayerNorm, K::kQkv, K::kAttention, K::kAdd, K::kLayerNorm, K::kFc1Gelu, K::kFc2, K::kAdd});
  CHECK(std::string(plan::to_string(K::kFc1Gelu)) == "fc1+gelu");
}
