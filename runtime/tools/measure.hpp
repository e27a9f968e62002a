// The timing loop of pfrt-bench: warm-up runs, then timed runs until both a run count and a
// minimum duration are reached, with the session's profile averaged over the timed runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pfrt/pfrt.hpp"
#include "progress.hpp"

namespace pfrt::tools {

struct MeasureOptions {
  uint32_t warmup = 2;
  uint32_t runs = 20;
  double min_seconds = 0.0;
  uint32_t max_runs = 100000;  // stops a tiny model with a long --min-seconds
  RunOptions run;              // prefix / deadline of every run
};

struct Measurement {
  std::vector<double> latency_ms;  // wall time of each timed run
  Profile profile;                 // mean of the timed runs' profiles
  uint32_t branches_used = 0;      // of the last run
};

Measurement measure(Session& session, const std::vector<float>& input, std::vector<float>& logits,
                    const MeasureOptions& options, Progress& progress, const std::string& label);

}  // namespace pfrt::tools
