// pfrt-bench MODEL --prefix-sweep: latency p50/p99 of every prefix of branches 1..k and, with
// --eval, its accuracy: the table a user picks an anytime deadline from.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "bench.hpp"
#include "classify.hpp"
#include "common.hpp"
#include "stats.hpp"

namespace pfrt::tools {
namespace {

struct PrefixRow {
  uint32_t branches = 0;
  double p50_ms = 0, p99_ms = 0, accuracy = -1;  // -1: not evaluated
};

}  // namespace

int bench_prefix(const BenchConfig& c, std::ostream& out) {
  const MachineInfo machine = machine_info();
  const Model model = Model::open(c.model_path);
  const ModelInfo info = model.info();
  Session session(model, c.session);
  if (info.training != PFRT_TRAINING_PROGRESSIVE) {
    std::fprintf(stderr,
                 "pfrt-bench: warning: %s was not trained progressively (training: %s): its prefixes "
                 "1..k < %u are not trained models, their accuracy means little\n",
                 c.model_path.c_str(), info.training == PFRT_TRAINING_PLAIN ? "plain" : "unknown", info.branches);
  }
  LabelledImages set;
  if (!c.eval_images.empty()) set = read_labelled_images(c.eval_images, c.eval_labels);
  Progress progress(c.progress && c.format != OutputFormat::kJson);
  const std::vector<float> input = random_input(info, c.batch);
  std::vector<float> logits(size_t(c.batch) * info.classes);
  std::vector<PrefixRow> rows;
  for (uint32_t k = 1; k <= info.branches; ++k) {
    MeasureOptions mo = c.measure;
    mo.run.branches = k;
    const LatencyStats s =
        summarize(measure(session, input, logits, mo, progress, "prefix " + std::to_string(k)).latency_ms);
    PrefixRow row{k, s.p50, s.p99, -1.0};
    if (!c.eval_images.empty()) {
      RunOptions prefix;
      prefix.branches = k;
      const EvalResult e = evaluate(session, model, set, c.eval_limit, 64, prefix, Preprocess{}, [&](size_t done) {
        progress.update("accuracy of prefix " + std::to_string(k), done, c.eval_limit ? c.eval_limit : set.count);
      });
      progress.clear();
      row.accuracy = e.accuracy();
    }
    rows.push_back(row);
  }
  // The JSON report: printed with --json, and what --plot draws.
  const auto print_json = [&](std::ostream& to) {
    JsonWriter j(to);
    j.begin_object();
    write_json_header(j, "pfrt-bench --prefix-sweep", machine);
    write_model_json(j, c.model_path, model);
    j.field("backend", session.backend()).field("threads", session.threads());
    j.field("batch", c.batch).field("branches", info.branches).field("background_load", c.measure.background_load);
    j.field("training", info.training == PFRT_TRAINING_PROGRESSIVE ? "progressive"
                        : info.training == PFRT_TRAINING_PLAIN     ? "plain"
                                                                   : "unknown");
    j.key("eval");
    if (c.eval_images.empty()) {
      j.null();
    } else {
      j.begin_object().field("images", c.eval_images).field("labels", c.eval_labels);
      j.field("count", c.eval_limit ? std::min(c.eval_limit, set.count) : set.count).end_object();
    }
    j.key("rows").begin_array();
    for (const PrefixRow& row : rows) {
      j.begin_object().field("branches", row.branches).field("p50_ms", row.p50_ms).field("p99_ms", row.p99_ms);
      j.key("accuracy");
      if (row.accuracy < 0) j.null();
      else j.value(row.accuracy);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  };
  if (!c.plot_path.empty()) {
    std::ostringstream report;
    print_json(report);
    write_plot(c.plot_path, report.str());
  }
  if (c.format == OutputFormat::kJson) {
    print_json(out);
    return 0;
  }
  const bool md = c.format == OutputFormat::kMarkdown;
  char line[256];
  std::snprintf(line, sizeof(line), "%s: %s, %d threads, batch %u, %s training", c.model_path.c_str(),
                session.backend().c_str(), session.threads(), c.batch,
                info.training == PFRT_TRAINING_PROGRESSIVE ? "progressive"
                : info.training == PFRT_TRAINING_PLAIN     ? "plain"
                                                           : "unknown");
  out << line << "\n";
  print_background_load(c, machine.cores, out);
  out << (md ? "\n| branches k | p50 ms | p99 ms | accuracy |\n|---:|---:|---:|---:|\n"
             : "\nbranches    p50 ms    p99 ms  accuracy\n");
  for (const PrefixRow& row : rows) {
    char acc[32] = "-";
    if (row.accuracy >= 0) std::snprintf(acc, sizeof(acc), "%.2f %%", 100.0 * row.accuracy);
    if (md) std::snprintf(line, sizeof(line), "| %u | %.3f | %.3f | %s |", row.branches, row.p50_ms, row.p99_ms, acc);
    else std::snprintf(line, sizeof(line), "%8u  %8.3f  %8.3f  %8s", row.branches, row.p50_ms, row.p99_ms, acc);
    out << line << "\n";
  }
  return 0;
}

}  // namespace pfrt::tools
