// pfrt-bench --sweep: random models of one block shape, B parallel branches against L serial
// blocks, one row each (latency p50, ratio to depth 1 of its kind, GFLOP/s), per thread count.
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "bench.hpp"
#include "common.hpp"
#include "pfrt/pfrt.hpp"
#include "reference_gemm.hpp"
#include "reference_gemm_int8.hpp"
#include "stage_profile.hpp"
#include "stats.hpp"

namespace pfrt::tools {
namespace {

struct SweepRow {
  SweepKind kind = SweepKind::kParallel;
  uint32_t depth = 0, threads = 0;
  double p50_ms = 0, p99_ms = 0, ratio = 0, gflops = 0;
  double reference_gflops = 0;  // the reference GEMM timed between this row's runs (0: not timed)
  uint64_t flops = 0;
  // The row's share of the reference GEMM's rate (0: not timed).
  double rate() const { return reference_gflops > 0 ? gflops / reference_gflops : 0.0; }
  std::vector<StageTime> stages;  // --profile stages: mean per run
};

struct SweepReport {
  MachineInfo machine;
  std::string backend, describe;
  std::vector<SweepRow> rows;
  std::map<uint32_t, double> gemm_gflops;  // per resolved thread count: the median of every row's timings
  std::map<uint32_t, double> int8_gops;    // --precision int8: XNNPACK's int8 GEMM, per thread count
  GemmShape gemm;
};

// --profile stages: ms per run of each kind of stage, one row per sweep row.
void print_stage_matrix(const SweepReport& r, bool md, std::ostream& out) {
  const std::vector<StageTime>* kinds = nullptr;
  for (const SweepRow& row : r.rows) {
    if (!row.stages.empty()) kinds = &row.stages;
  }
  if (kinds == nullptr) {
    out << "\nstages: not timed by this backend\n";
    return;
  }
  out << (md ? "\n| kind | depth | threads |"
             : "\nms per run by stage (summed over threads)\nkind      depth  threads");
  for (const StageTime& s : *kinds) out << (md ? " " : "  ") << s.name << (md ? " |" : "");
  out << "\n";
  if (md) {
    out << "|---|---:|---:|";
    for (size_t k = 0; k < kinds->size(); ++k) out << "---:|";
    out << "\n";
  }
  char line[64];
  for (const SweepRow& row : r.rows) {
    std::snprintf(line, sizeof(line), md ? "| %s | %u | %u |" : "%-8s  %5u  %7u", to_string(row.kind), row.depth,
                  row.threads);
    out << line;
    for (size_t k = 0; k < kinds->size(); ++k) {
      const double ms = k < row.stages.size() ? row.stages[k].ms : 0.0;
      if (md) {
        std::snprintf(line, sizeof(line), " %.4f |", ms);
      } else {
        const int width = int((*kinds)[k].name.size());
        std::snprintf(line, sizeof(line), "  %*.4f", width < 6 ? 6 : width, ms);
      }
      out << line;
    }
    out << "\n";
  }
}

void print_text(const BenchConfig& c, const SweepReport& r, std::ostream& out) {
  const BlockShape& s = c.shape;
  char line[512];
  std::snprintf(line, sizeof(line), "pfrt-bench --sweep: pfrt %s (commit %s) on %s, %u cores, %s", pfrt_version(),
                git_commit().c_str(), r.machine.cpu_model.c_str(), r.machine.cores, r.machine.cpu_isa.c_str());
  out << line << "\n";
  std::snprintf(line, sizeof(line),
                "block shape %ux%ux%u, patch %u, D=%u, %u heads x %u, MLP %u, %u classes; backend %s, batch %u",
                s.image_size, s.image_size, s.channels, s.patch_size, s.embed_dim, s.heads, s.head_dim, s.mlp_dim,
                s.classes, r.backend.c_str(), c.batch);
  out << line << "\n";
  print_background_load(c, r.machine.cores, out);
  for (const auto& [threads, gflops] : r.gemm_gflops) {
    std::snprintf(
        line, sizeof(line), "reference GEMM (XNNPACK fully-connected, %s %llux%llux%llu, %u threads): %.2f GFLOP/s",
        r.gemm.name.c_str(), static_cast<unsigned long long>(r.gemm.m), static_cast<unsigned long long>(r.gemm.k),
        static_cast<unsigned long long>(r.gemm.n), threads, gflops);
    out << line << "\n";
  }
  for (const auto& [threads, gops] : r.int8_gops) {
    std::snprintf(line, sizeof(line), "reference int8 GEMM (%s, same shape, %u threads): %.2f GOP/s",
                  int8_reference_name(Int8Reference::kConvolutionQc8), threads, gops);
    out << line << "\n";
  }
  out << "precision " << c.precision << " (GEMM weights of the sweep's models)\n";
  const bool md = c.format == OutputFormat::kMarkdown;
  out << (md ? "\n| kind | depth | threads | p50 ms | p99 ms | ratio to depth 1 | GFLOP/s | of reference GEMM "
               "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
             : "\nkind      depth  threads    p50 ms    p99 ms   ratio  GFLOP/s  of ref\n");
  for (const SweepRow& row : r.rows) {
    char rate[16] = "-";
    if (row.reference_gflops > 0) std::snprintf(rate, sizeof(rate), "%.0f %%", 100.0 * row.rate());
    if (md) {
      std::snprintf(line, sizeof(line), "| %s | %u | %u | %.3f | %.3f | %.2f | %.2f | %s |", to_string(row.kind),
                    row.depth, row.threads, row.p50_ms, row.p99_ms, row.ratio, row.gflops, rate);
    } else {
      std::snprintf(line, sizeof(line), "%-8s  %5u  %7u  %8.3f  %8.3f  %6.2f  %7.2f  %6s", to_string(row.kind),
                    row.depth, row.threads, row.p50_ms, row.p99_ms, row.ratio, row.gflops, rate);
    }
    out << line << "\n";
  }
  if (c.stage_profile) print_stage_matrix(r, md, out);
}

void print_json(const BenchConfig& c, const SweepReport& r, std::ostream& out) {
  JsonWriter j(out);
  j.begin_object();
  write_json_header(j, "pfrt-bench --sweep", r.machine);
  j.field("backend", r.backend).field("describe", r.describe).field("batch", c.batch);
  j.field("background_load", c.measure.background_load);
  j.key("shape").begin_object();
  j.field("image_size", c.shape.image_size).field("channels", c.shape.channels).field("patch_size", c.shape.patch_size);
  j.field("embed_dim", c.shape.embed_dim).field("heads", c.shape.heads).field("head_dim", c.shape.head_dim);
  j.field("mlp_dim", c.shape.mlp_dim).field("classes", c.shape.classes);
  j.end_object();
  j.key("reference_gemm_gflops");
  if (r.gemm_gflops.empty()) j.null();
  else j.value(r.gemm_gflops.begin()->second);
  j.key("reference_gemm").begin_object();
  j.field("layer", r.gemm.name).field("m", r.gemm.m).field("k", r.gemm.k).field("n", r.gemm.n);
  j.key("gflops_by_threads").begin_object();
  for (const auto& [threads, gflops] : r.gemm_gflops) j.field(std::to_string(threads), gflops);
  j.end_object();
  j.end_object();
  j.field("precision", c.precision);
  j.key("reference_gemm_int8_gops_by_threads").begin_object();
  for (const auto& [threads, gops] : r.int8_gops) j.field(std::to_string(threads), gops);
  j.end_object();
  j.key("rows").begin_array();
  for (const SweepRow& row : r.rows) {
    j.begin_object();
    j.field("kind", to_string(row.kind)).field("depth", row.depth).field("threads", row.threads);
    j.field("p50_ms", row.p50_ms).field("p99_ms", row.p99_ms).field("ratio", row.ratio).field("gflops", row.gflops);
    j.field("flops", row.flops);
    j.key("reference_gemm_gflops");
    if (row.reference_gflops > 0) j.value(row.reference_gflops);
    else j.null();
    j.key("rate");
    if (row.reference_gflops > 0) j.value(row.rate());
    else j.null();
    if (c.stage_profile) write_stages_json(j, row.stages);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

}  // namespace

int bench_sweep(const BenchConfig& c, std::ostream& out) {
  SweepReport r;
  r.machine = machine_info();
  Progress progress(c.progress && c.format != OutputFormat::kJson);
  std::map<uint32_t, std::unique_ptr<ReferenceGemm>> references;  // per resolved thread count
  std::map<uint32_t, std::vector<double>> reference_seconds;      // every timing, per thread count
  for (uint32_t threads : c.threads) {
    for (SweepKind kind : {SweepKind::kParallel, SweepKind::kSerial}) {
      const std::vector<uint32_t>& depths = kind == SweepKind::kParallel ? c.parallel_depths : c.serial_depths;
      double base_ms = 0.0;
      for (uint32_t depth : depths) {
        format::ModelConfig config = sweep_config(c.shape, kind, depth);
        config.quantization = format::Quantization::of(c.precision == "int8"  ? format::Precision::kInt8
                                                       : c.precision == "f16" ? format::Precision::kF16
                                                                              : format::Precision::kF32);
        const std::vector<uint8_t> bytes = sweep_model_bytes(config, depth);
        const Model model = Model::from_buffer(bytes.data(), bytes.size());
        SessionOptions so = c.session;
        so.threads = int32_t(threads);
        Session session(model, so);
        const ModelInfo info = model.info();
        const std::vector<float> input = random_input(info, c.batch);
        std::vector<float> logits(size_t(c.batch) * info.classes);
        const std::string label = std::string(to_string(kind)) + " depth " + std::to_string(depth) + ", " +
                                  std::to_string(session.threads()) + " threads";
        // The reference GEMM in short bursts before, between and after the row's runs.
        MeasureOptions mo = c.measure;
        std::vector<double> row_reference;
        if (c.reference_gemm) {
          r.gemm = largest_gemm(info, c.batch);
          std::unique_ptr<ReferenceGemm>& reference = references[session.threads()];
          if (!reference) reference = std::make_unique<ReferenceGemm>(r.gemm, session.threads());
          mo.interleave = [&] { reference->time(0.03, row_reference); };
          mo.interleave_seconds = 0.1;
        }
        const Measurement m = measure(session, input, logits, mo, progress, label);
        const LatencyStats s = summarize(m.latency_ms);
        SweepRow row;
        row.kind = kind;
        row.depth = depth;
        row.threads = session.threads();
        row.p50_ms = s.p50;
        row.p99_ms = s.p99;
        if (depth == depths.front()) base_ms = s.p50;
        row.ratio = base_ms > 0 ? s.p50 / base_ms : 0.0;
        row.flops = info.flops * c.batch;
        row.gflops = s.p50 > 0 ? double(row.flops) / (s.p50 * 1e6) : 0.0;
        if (c.reference_gemm) {
          row.reference_gflops = references[row.threads]->gflops(row_reference);
          std::vector<double>& all = reference_seconds[row.threads];
          all.insert(all.end(), row_reference.begin(), row_reference.end());
          r.gemm_gflops[row.threads] = references[row.threads]->gflops(all);
        }
        if (c.stage_profile) row.stages = m.profile.stages;
        r.rows.push_back(row);
        if (r.backend.empty()) {
          r.backend = session.backend();
          r.describe = session.describe();
        }
        if (c.reference_gemm && c.precision == "int8" && !r.int8_gops.count(row.threads)) {
          progress.update("reference int8 GEMM", 0, 0);
          r.int8_gops[row.threads] = reference_gemm_int8_gops(r.gemm, row.threads, 0.2);
          progress.clear();
        }
      }
    }
  }
  if (!c.plot_path.empty()) {  // drawn from the JSON report, as --plot-json draws a saved one
    std::ostringstream report;
    print_json(c, r, report);
    write_plot(c.plot_path, report.str());
  }
  if (c.format == OutputFormat::kJson) print_json(c, r, out);
  else print_text(c, r, out);
  return 0;
}

}  // namespace pfrt::tools
