// pfrt-bench's modes, each in its own file: one model (bench_model.cpp), the depth sweep
// (bench_sweep.cpp) and the prefix sweep of anytime inference (bench_prefix.cpp).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "measure.hpp"
#include "pfrt/pfrt.hpp"
#include "ranks.hpp"
#include "sweep.hpp"

namespace pfrt::tools {

enum class OutputFormat { kText, kMarkdown, kJson };

struct BenchConfig {
  std::string model_path;
  SessionOptions session;
  std::vector<uint32_t> threads{0};  // the sweep may list several
  MeasureOptions measure;            // also --background-load
  uint32_t batch = 1;
  uint32_t streams = 0;  // --streams N: N sessions timed at once (model mode); 0: one session
  OutputFormat format = OutputFormat::kText;
  bool reference_gemm = true;
  bool progress = true;
  bool stage_profile = false;  // --profile stages: time and rate per kind of stage
  std::string plot_path;       // --plot FILE.svg (the sweeps)
  // --sweep
  BlockShape shape;
  std::string precision = "f32";  // --precision: the GEMM weights of the sweep's models
  std::vector<uint32_t> parallel_depths{1, 2, 4, 8, 12};
  std::vector<uint32_t> serial_depths{1, 2, 4, 8, 12};
  // --prefix-sweep --eval
  std::string eval_images, eval_labels;
  uint32_t eval_limit = 0;
  Ranks ranks;  // mpirun -n R: one sharded session over the R ranks (model mode)
};

int bench_model(const BenchConfig& config, std::ostream& out);
int bench_sweep(const BenchConfig& config, std::ostream& out);
int bench_prefix(const BenchConfig& config, std::ostream& out);

// Random network input for `batch` images of the model (values in [-1, 1)).
std::vector<float> random_input(const ModelInfo& info, uint32_t batch);

// Draws a sweep's JSON report as SVG into `path` (plot.hpp; written as every output file is).
void write_plot(const std::string& path, const std::string& report_json);

// --plot-json REPORT.json --plot OUT.svg: the plot of a saved --sweep or --prefix-sweep report.
int plot_saved_report(const std::string& report_path, const std::string& plot_path);

// The --background-load line of every mode's text and markdown output, nothing without a load.
void print_background_load(const BenchConfig& config, unsigned cores, std::ostream& out);

}  // namespace pfrt::tools
