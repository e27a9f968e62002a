#include "stage_profile.hpp"

#include <cstdio>

namespace pfrt::tools {
namespace {

double total_ms(const std::vector<StageTime>& stages) {
  double total = 0.0;
  for (const StageTime& s : stages) total += s.ms;
  return total;
}

double gflops(const StageTime& s) { return s.ms > 0.0 ? double(s.flops) / (s.ms * 1e6) : 0.0; }

}  // namespace

void add_stage_times(std::vector<StageTime>& sum, const std::vector<StageTime>& run) {
  if (sum.empty()) {
    sum = run;
    return;
  }
  for (size_t k = 0; k < sum.size() && k < run.size(); ++k) {
    sum[k].ms += run[k].ms;
    sum[k].flops += run[k].flops;
  }
}

void scale_stage_times(std::vector<StageTime>& stages, double runs) {
  if (runs <= 0.0) return;
  for (StageTime& s : stages) {
    s.ms /= runs;
    s.flops = uint64_t(double(s.flops) / runs + 0.5);
  }
}

void print_stage_table(const std::vector<StageTime>& stages, bool markdown, std::ostream& out) {
  if (stages.empty()) {
    out << "stages       not timed by this backend\n";
    return;
  }
  const double total = total_ms(stages);
  out << (markdown ? "\n| stage | ms per run | share | MFLOP | GFLOP/s |\n|---|---:|---:|---:|---:|\n"
                   : "stage        ms per run   share    MFLOP  GFLOP/s   (stage times summed over threads)\n");
  char line[256];
  for (const StageTime& s : stages) {
    const double share = total > 0.0 ? 100.0 * s.ms / total : 0.0;
    if (markdown) {
      std::snprintf(line, sizeof(line), "| %s | %.4f | %.1f %% | %.2f | %.1f |", s.name.c_str(), s.ms, share,
                    double(s.flops) / 1e6, gflops(s));
    } else {
      std::snprintf(line, sizeof(line), "  %-10s %10.4f  %5.1f %%  %7.2f  %7.1f", s.name.c_str(), s.ms, share,
                    double(s.flops) / 1e6, gflops(s));
    }
    out << line << "\n";
  }
}

void write_stages_json(JsonWriter& json, const std::vector<StageTime>& stages) {
  const double total = total_ms(stages);
  json.key("stages").begin_array();
  for (const StageTime& s : stages) {
    json.begin_object();
    json.field("stage", s.name).field("ms", s.ms).field("share", total > 0.0 ? s.ms / total : 0.0);
    json.field("flops", s.flops).field("gflops", gflops(s));
    json.end_object();
  }
  json.end_array();
}

}  // namespace pfrt::tools
