#include "cpu/stage_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "backend/backend.hpp"
#include "cpu/kernels/kernels.hpp"
#include "cpu/linear_f16_stage.hpp"
#include "error.hpp"

namespace pfrt::cpu {

using format::ModelConfig;
using plan::Op;
using plan::Stage;
using plan::View;

namespace {

constexpr size_t kLineFloats = 16;    // scratch pieces start on 64-byte lines
constexpr size_t kPageFloats = 1024;  // 4 KiB

size_t whole_lines(size_t floats) { return (floats + kLineFloats - 1) / kLineFloats * kLineFloats; }
size_t whole_pages(size_t floats) { return (floats + kPageFloats - 1) / kPageFloats * kPageFloats; }

// The first page boundary at or after p (within a scratch sized with a page to spare).
float* next_page(float* p) {
  const uintptr_t bytes = kPageFloats * sizeof(float);
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + bytes - 1) / bytes * bytes);
}

// Runs fn(first, count) over the rows [0, rows) in one tile per team thread, tiles cut at
// multiples of `quantum` rows: the GEMMs' register tile, so that each thread's tile is the rows
// its range of GEMM items covers before and after (worker_team.hpp).
template <typename Fn>
void for_row_tiles(WorkerTeam& team, size_t rows, size_t quantum, const Fn& fn) {
  const size_t threads = team.threads();
  if (threads <= 1 || rows <= 1) return fn(size_t{0}, rows);
  const size_t tile = ((rows + threads - 1) / threads + quantum - 1) / quantum * quantum;
  team.for_each((rows + tile - 1) / tile, [&](size_t t) { fn(t * tile, std::min(rows, (t + 1) * tile) - t * tile); });
}

// One attention stage in two passes over the team: the keys of every (image, head) are
// prepared once, then blocks of query rows of every (image, head) are answered, so that even
// one image of three heads keeps every thread busy.
struct AttentionWork {
  const float* q;
  size_t q_image;  // floats between images' query rows (their rows are `stride` apart)
  const float* k;  // keys; values `inner` floats after them; rows `stride` apart
  size_t kv_image, stride;
  float* out;
  size_t out_image, out_stride;
  size_t tokens, heads, head_dim, queries, pairs;
  size_t blocks, rows_per_block;  // queries split into `blocks` blocks of rows_per_block rows
  size_t key_pieces;              // each pair's keys prepared in this many pieces of head_dim rows
  float* keys;                    // keys_floats per (image, head) (attention_pair_floats)
  size_t keys_floats;
  float* scores;  // scores_floats apart, one piece per work item
  size_t scores_floats;
};

void attention_keys_item(const AttentionWork& w, size_t item) {
  const size_t pair = item / w.key_pieces, piece = item % w.key_pieces;
  const size_t image = pair / w.heads, head = pair % w.heads;
  const size_t rows = (w.head_dim + w.key_pieces - 1) / w.key_pieces;
  kernels::attention_keys(w.k + image * w.kv_image + head * w.head_dim, w.stride, w.tokens, w.head_dim, piece * rows,
                          (piece + 1) * rows, w.keys + pair * w.keys_floats);
}

void attention_queries_item(const AttentionWork& w, size_t item) {
  const size_t inner = w.heads * w.head_dim;
  // Numbered block by block: a thread's range of items is the same rows of every head.
  const size_t pair = item % w.pairs, block = item / w.pairs;
  const size_t image = pair / w.heads, head = pair % w.heads;
  const size_t first = block * w.rows_per_block;
  if (first >= w.queries) return;
  const size_t rows = std::min(w.rows_per_block, w.queries - first);
  const float* v = w.k + image * w.kv_image + inner + head * w.head_dim;
  kernels::attention_queries(w.q + image * w.q_image + first * w.stride + head * w.head_dim,
                             w.keys + pair * w.keys_floats, v, w.stride, w.tokens, w.head_dim, rows,
                             w.out + image * w.out_image + first * w.out_stride + head * w.head_dim, w.out_stride,
                             w.scores + item * w.scores_floats);
}

}  // namespace

// Each work item's scores start on a page of their own: a thread that writes its scores row by
// row sets the hardware's stream prefetcher fetching the lines after them, which with items
// packed back to back are the lines another thread is writing (measured on 2 Zen 5 cores: the
// query pass took 1.37x less time on 2 threads than on 1 with packed scores, 1.86x with a page
// apart). Prefetchers do not cross pages.
static size_t attention_scores_stride(size_t tokens, size_t head_dim) {
  return whole_pages(kernels::attention_scores_floats(tokens, head_dim));
}

// The class row attends in parts of this many keys, one work item each, so that every thread
// reads the keys and values it wrote (the last may be shorter); the same parts whatever the
// threads, so results do not depend on them.
constexpr size_t kClassRowPartKeys = 64;

static size_t class_row_parts(size_t tokens) { return (tokens + kClassRowPartKeys - 1) / kClassRowPartKeys; }
// One class-row part's floats: the part, then its scores.
static size_t class_row_part_floats(size_t head_dim) {
  return whole_lines(kernels::attention_row_part_floats(head_dim)) + whole_lines(kClassRowPartKeys);
}

// Each (image, head) pair's floats of the scratch: its prepared keys, or its class-row parts.
static size_t attention_pair_floats(size_t tokens, size_t head_dim) {
  return std::max(whole_lines(kernels::attention_keys_floats(tokens, head_dim)),
                  class_row_parts(tokens) * class_row_part_floats(head_dim));
}

size_t attention_scratch_floats(const plan::AttentionShape& s) {
  const size_t pairs = s.batch * s.heads;
  return pairs * attention_pair_floats(s.tokens, s.head_dim) + kPageFloats +
         attention_items(s.threads, pairs) * attention_scores_stride(s.tokens, s.head_dim);
}

AttentionSplit attention_split(size_t threads, size_t pairs, size_t queries, size_t head_dim) {
  AttentionSplit split;
  split.rows_per_block = queries;
  if (threads <= 1 || pairs == 0) return split;
  const auto ceil_div = [](size_t a, size_t b) { return (a + b - 1) / b; };
  split.key_pieces = std::max<size_t>(1, std::min(ceil_div(4 * threads, pairs), head_dim / 8));
  const size_t block = kernels::kAttentionBlockRows;
  const size_t rows = std::max<size_t>(8, ceil_div(ceil_div(queries, ceil_div(12 * threads, pairs)), block) * block);
  if (rows < queries) {
    split.rows_per_block = rows;
    split.blocks = ceil_div(queries, rows);
  }
  return split;
}

void StageRunner::linear(const Stage& s, const plan::Memory& memory, uint32_t branch, size_t first_row, size_t rows,
                         WorkerTeam& team, double& quantize_ms) const {
  if (plan_.linears()[s.linear].int8()) return linear_int8(s, memory, branch, rows, team, quantize_ms);
  if (packed_.f16(s.linear)) {  // f16 arithmetic (linear_f16_stage.hpp); first_row is 0 outside the stem
    return run_linear_f16(plan_, memory, s, packed_.f16_layer(s.linear, branch), activation(s), branch, rows, team,
                          quantize_ms);
  }
  const PackedLinear& layer = packed_.layer(s.linear, branch);
  const size_t xs = s.in.matrix_stride(), ys = s.out.matrix_stride(), rs = s.has_aux ? s.aux.matrix_stride() : 0;
  const float* x = plan::locate(plan_, memory, s.in, branch) + first_row * xs;
  float* y = plan::locate(plan_, memory, s.out, branch) + first_row * ys;
  const float* residual = s.has_aux ? plan::locate(plan_, memory, s.aux, branch) + first_row * rs : nullptr;
  const Activation act = activation(s);
  const GemmTiling tiling = gemm_tiling(rows, layer.panels(), layer.rows_per_tile(), team.threads());
  team.for_each(tiling.items(), [&](size_t i) {
    const GemmItem item = tiling.item(i);
    LinearEpilogue epilogue;
    epilogue.activation = act;
    epilogue.residual = residual != nullptr ? residual + item.row_begin * rs : nullptr;
    epilogue.residual_stride = rs;
    layer.run(item.row_end - item.row_begin, x + item.row_begin * xs, xs, y + item.row_begin * ys, ys, item.panel_begin,
              item.panel_end, epilogue);
  });
}

Activation StageRunner::activation(const Stage& s) const {
  if (s.activation != plan::Activation::kGelu) return Activation::kNone;
  return model_.config().gelu == format::Gelu::kErf ? Activation::kGeluErf : Activation::kGeluTanh;
}

void StageRunner::linear_int8(const Stage& s, const plan::Memory& memory, uint32_t branch, size_t rows,
                              WorkerTeam& team, double& quantize_ms) const {
  const PackedLinearInt8& layer = packed_.int8_layer(s.linear, branch);
  if (!s.has_scratch) core::fail(PFRT_INTERNAL_ERROR, "cpu backend: an int8 GEMM stage without its scratch");
  const size_t xs = s.in.matrix_stride(), ys = s.out.matrix_stride(), rs = s.has_aux ? s.aux.matrix_stride() : 0;
  const float* x = plan::locate(plan_, memory, s.in, branch);
  float* y = plan::locate(plan_, memory, s.out, branch);
  plan::View scratch;
  scratch.buffer = s.scratch;
  void* quantized = plan::locate(plan_, memory, scratch, branch);
  // The input quantised once (rows split over the team), then the GEMM's items read it.
  const core::Clock::time_point quantize_start = core::Clock::now();
  for_row_tiles(team, rows, layer.rows_per_tile(),
                [&](size_t first, size_t count) { layer.quantize(rows, first, first + count, x, xs, quantized); });
  quantize_ms += core::elapsed_ms(quantize_start, core::Clock::now());
  LinearEpilogue epilogue;
  epilogue.activation = activation(s);
  epilogue.residual = s.has_aux ? plan::locate(plan_, memory, s.aux, branch) : nullptr;
  epilogue.residual_stride = rs;
  const GemmTiling tiling = gemm_tiling(rows, layer.panels(), layer.rows_per_tile(), team.threads());
  team.for_each(tiling.items(), [&](size_t i) {
    const GemmItem item = tiling.item(i);
    layer.run(rows, item.row_begin, item.row_end, quantized, y, ys, item.panel_begin, item.panel_end, epilogue);
  });
}

void StageRunner::layer_norm(const Stage& s, const plan::Memory& memory, size_t n, uint32_t branch,
                             WorkerTeam& team) const {
  const ModelConfig& c = model_.config();
  const core::ModelWeights& w = model_.weights();
  const float* x = plan::locate(plan_, memory, s.in, branch);
  float* y = plan::locate(plan_, memory, s.out, branch);
  const float* gamma = plan::resolve(w, s.gamma, branch);
  const float* beta = plan::resolve(w, s.beta, branch);
  const size_t d = s.in.cols;  // dense rows (the plan's tests check)
  for_row_tiles(team, n * s.in.rows, kernels::gemm_kernel().rows_per_tile, [&](size_t first, size_t count) {
    kernels::layer_norm(x + first * d, d, count, d, gamma, beta, c.layernorm_eps, y + first * d, d);
  });
}

void StageRunner::attention(const Stage& s, const plan::Memory& memory, size_t n, uint32_t branch,
                            WorkerTeam& team) const {
  const ModelConfig& c = model_.config();
  // The kernels read queries and values with one row stride: true of the QKV output, and
  // irrelevant for one query row per image.
  if (s.in.rows > 1 && s.in.row_stride != s.aux.row_stride) {
    core::fail(PFRT_INTERNAL_ERROR, "cpu backend: attention queries and keys with different row strides");
  }
  const size_t pairs = n * c.heads, tokens = s.aux.rows, queries = s.in.rows;
  plan::View scratch;
  scratch.buffer = s.scratch;
  float* keys = plan::locate(plan_, memory, scratch, branch);
  const size_t keys_floats = attention_pair_floats(tokens, c.head_dim);
  if (queries == 1) {  // the class row: keys read as they are, in parts, then the parts combined
    const float* q = plan::locate(plan_, memory, s.in, branch);
    const float* k = plan::locate(plan_, memory, s.aux, branch);
    float* out = plan::locate(plan_, memory, s.out, branch);
    const size_t inner = c.inner_dim(), parts = class_row_parts(tokens),
                 part_floats = class_row_part_floats(c.head_dim);
    const size_t part_scores = whole_lines(kernels::attention_row_part_floats(c.head_dim));
    // Numbered part by part: a thread's range of items is the keys of its rows, for every head.
    team.for_each(pairs * parts, [&](size_t item) {
      const size_t pair = item % pairs, part = item / pairs;
      const size_t image = pair / c.heads, head = pair % c.heads, first = part * kClassRowPartKeys;
      const float* kr = k + image * s.aux.image_stride + first * s.aux.row_stride + head * c.head_dim;
      float* piece = keys + pair * keys_floats + part * part_floats;
      kernels::attention_row_part(q + image * s.in.image_stride + head * c.head_dim, kr, kr + inner, s.aux.row_stride,
                                  std::min(kClassRowPartKeys, tokens - first), c.head_dim, piece, piece + part_scores);
    });
    for (size_t pair = 0; pair < pairs; ++pair) {
      const size_t image = pair / c.heads, head = pair % c.heads;
      kernels::attention_row_combine(keys + pair * keys_floats, parts, part_floats, c.head_dim,
                                     out + image * s.out.image_stride + head * c.head_dim);
    }
    return;
  }
  const AttentionSplit split = attention_split(team.threads(), pairs, queries, c.head_dim);
  const AttentionWork work{plan::locate(plan_, memory, s.in, branch),
                           s.in.image_stride,
                           plan::locate(plan_, memory, s.aux, branch),
                           s.aux.image_stride,
                           s.aux.row_stride,
                           plan::locate(plan_, memory, s.out, branch),
                           s.out.image_stride,
                           s.out.row_stride,
                           tokens,
                           c.heads,
                           c.head_dim,
                           queries,
                           pairs,
                           split.blocks,
                           split.rows_per_block,
                           split.key_pieces,
                           keys,
                           keys_floats,
                           next_page(keys + pairs * keys_floats),
                           attention_scores_stride(tokens, c.head_dim)};
  team.for_each(pairs * split.key_pieces, [&](size_t item) { attention_keys_item(work, item); });
  team.for_each(pairs * split.blocks, [&](size_t item) { attention_queries_item(work, item); });
}

void StageRunner::run(const Stage& s, const plan::Memory& memory, size_t n, uint32_t branch, uint32_t prefix,
                      WorkerTeam& team, double& quantize_ms) const {
  const ModelConfig& c = model_.config();
  switch (s.op) {
    case Op::kLinear: return linear(s, memory, branch, 0, n * s.in.rows, team, quantize_ms);
    case Op::kLayerNorm: return layer_norm(s, memory, n, branch, team);
    case Op::kAttention: return attention(s, memory, n, branch, team);
    case Op::kAdd: {
      const float* a = plan::locate(plan_, memory, s.in, branch);
      const float* b = plan::locate(plan_, memory, s.aux, branch);
      float* y = plan::locate(plan_, memory, s.out, branch);
      for (size_t r = 0; r < n * s.in.rows; ++r) {
        kernels::add(a + r * s.in.matrix_stride(), b + r * s.aux.matrix_stride(), y + r * s.out.matrix_stride(),
                     s.out.cols);
      }
      return;
    }
    case Op::kMeanRows: {
      const float* x = plan::locate(plan_, memory, s.in, branch);
      float* y = plan::locate(plan_, memory, s.out, branch);
      for (size_t i = 0; i < n; ++i) {
        kernels::mean_rows(x + i * s.in.image_stride, s.in.rows, s.in.cols, y + i * s.out.image_stride);
      }
      return;
    }
    case Op::kMerge: {
      float* y = plan::locate(plan_, memory, s.out, branch);
      const size_t count = n * s.out.cols;  // one dense row per image, in and out
      std::fill(y, y + count, 0.0f);
      for (uint32_t b = plan_.shard().rank; b < prefix; b += plan_.shard().ranks) {  // this shard's branches
        const float weight = c.merge_weights.empty() ? 1.0f : c.merge_weights[b];
        kernels::accumulate(plan::locate(plan_, memory, s.in, b), weight, y, count);
      }
      return;
    }
    case Op::kGatherPatches:
    case Op::kAssembleTokens: break;  // the stem's, run by run_stem
  }
  core::fail(PFRT_INTERNAL_ERROR, std::string("cpu backend: stage '") + plan::to_string(s.op) + "' outside the stem");
}

void StageRunner::run_stem(const plan::Memory& memory, size_t n, size_t first, size_t count, bool class_rows,
                           WorkerTeam& team, double& quantize_ms) const {
  const ModelConfig& c = model_.config();
  const std::vector<Stage>& stem = plan_.stem();
  if (stem.size() != 3 || stem[0].op != Op::kGatherPatches || stem[1].op != Op::kLinear ||
      stem[2].op != Op::kAssembleTokens) {
    core::fail(PFRT_INTERNAL_ERROR, "cpu backend: the plan's stem is not gather, embedding, tokens");
  }
  const Stage &gather = stem[0], &embed = stem[1], &tokens = stem[2];
  // f32, int8 (an int8 block quantises the patches it gathered, rows of the batch's n x N) or
  // f16 arithmetic (a block rounds its patches to f16).
  const bool int8 = plan_.linears()[embed.linear].int8(), f16 = !int8 && packed_.f16(embed.linear);
  const PackedLinear* layer = int8 || f16 ? nullptr : &packed_.layer(embed.linear, 0);
  const PackedLinearInt8* layer8 = int8 ? &packed_.int8_layer(embed.linear, 0) : nullptr;
  const PackedLinearF16* layer16 = f16 ? &packed_.f16_layer(embed.linear, 0) : nullptr;
  const size_t patch_dim = gather.out.cols, d = tokens.out.cols, per_image = gather.out.rows;
  float* patches = plan::locate(plan_, memory, gather.out);
  float* embedded = plan::locate(plan_, memory, embed.out);
  float* x0 = plan::locate(plan_, memory, tokens.out);
  const float* pos = plan::resolve(model_.weights(), tokens.pos, 0);
  void* quantized = nullptr;  // the int8 or f16 patches
  if (int8 || f16) {
    if (!embed.has_scratch) core::fail(PFRT_INTERNAL_ERROR, "cpu backend: an int8 or f16 stem without its scratch");
    plan::View scratch;
    scratch.buffer = embed.scratch;
    quantized = plan::locate(plan_, memory, scratch);
  }
  // Blocks of whole register tiles, about two per thread. Each block is gathered, embedded and
  // placed by one thread, so its patches (as large as the stem's weights: N x P*P*C) are
  // multiplied where they were written, in that core's cache.
  const size_t tile = int8 ? layer8->rows_per_tile() : f16 ? layer16->rows_per_tile() : layer->rows_per_tile();
  const size_t threads = team.threads();
  // The register tiles are dealt evenly (blocks differ by one tile at most): 196 patch rows of
  // 8-row tiles in 4 blocks of 7, 6, 6, 6 tiles rather than 7, 7, 7, 3.5.
  const size_t tiles = (count + tile - 1) / tile;
  const size_t blocks = std::max<size_t>(1, std::min(tiles, threads == 1 ? 1 : 2 * threads));
  const size_t total = n * per_image;
  std::atomic<int64_t> quantize_ns{0};  // summed over the team's threads
  team.for_each(blocks, [&](size_t block) {
    const size_t begin = first + block * tiles / blocks * tile;
    const size_t rows = std::min(first + count, first + (block + 1) * tiles / blocks * tile) - begin;
    kernels::gather_patches(memory.input, c.channels, c.image_size, c.patch_size, begin, rows,
                            patches + begin * patch_dim);
    if (int8) {
      const core::Clock::time_point start = core::Clock::now();
      layer8->quantize(total, begin, begin + rows, patches, patch_dim, quantized);
      quantize_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(core::Clock::now() - start).count();
      layer8->run(total, begin, begin + rows, quantized, embedded, d, 0, layer8->panels());
    } else if (f16) {
      const core::Clock::time_point start = core::Clock::now();
      layer16->convert(begin, begin + rows, patches, patch_dim, quantized);
      quantize_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(core::Clock::now() - start).count();
      layer16->run(begin, begin + rows, quantized, embedded, d, 0, layer16->panels());
    } else {
      layer->run(rows, patches + begin * patch_dim, patch_dim, embedded + begin * d, d, 0, layer->panels());
    }
    // x0 = [cls + pos[0]; embedding + pos[1..]].
    for (size_t row = begin; row < begin + rows; ++row) {
      const size_t image = row / per_image, p = row % per_image;
      kernels::add(embedded + row * d, pos + (1 + p) * d, x0 + image * tokens.out.image_stride + (1 + p) * d, d);
    }
  });
  if (class_rows) {
    const float* cls = plan::resolve(model_.weights(), tokens.cls, 0);
    for (size_t i = 0; i < n; ++i) kernels::add(cls, pos, x0 + i * tokens.out.image_stride, d);
  }
  // The team's quantisation as its share of the stem's wall time (blocks are even work).
  quantize_ms += double(quantize_ns.load()) * 1e-6 / double(std::min(threads, blocks));
}

}  // namespace pfrt::cpu
