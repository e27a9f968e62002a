// The timing loop of pfrt-bench: warm-up runs, then timed runs until both a run count and a
// minimum duration are reached, with the session's profile averaged over the timed runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pfrt/pfrt.hpp"
#include "pfrt/pfrt_shard.h"
#include "progress.hpp"

namespace pfrt::tools {

struct MeasureOptions {
  uint32_t warmup = 2;
  uint32_t runs = 20;
  double min_seconds = 0.0;
  uint32_t max_runs = 100000;    // stops a tiny model with a long --min-seconds
  uint32_t background_load = 0;  // busy-loop processes beside warm-up and timing (BackgroundLoad)
  RunOptions run;                // prefix / deadline of every run
  // When set, called before the first timed run, after the last, and between runs each time
  // another `interleave_seconds` of runs have passed (its own time is not the runs'): a
  // yardstick timed beside the runs, under the same machine load (pfrt-bench --sweep).
  std::function<void()> interleave;
  double interleave_seconds = 0.1;
};

struct Measurement {
  std::vector<double> latency_ms;                    // wall time of each timed run
  Profile profile;                                   // mean of the timed runs' profiles
  uint32_t branches_used = 0;                        // of the last run
  pfrt_shard_profile shard{};                        // sharded session: mean of the timed runs' (else zero)
  std::chrono::steady_clock::time_point start, end;  // of the timed runs
};

// Warm-up and timing, under the options' background load.
Measurement measure(Session& session, const std::vector<float>& input, std::vector<float>& logits,
                    const MeasureOptions& options, Progress& progress, const std::string& label);

// The two halves of measure(), without the load, for callers that time several sessions at
// once (measure_streams); both return early once `stop` is set.
void warm_up(Session& session, const std::vector<float>& input, std::vector<float>& logits,
             const MeasureOptions& options, Progress& progress, const std::string& label,
             const std::atomic<bool>* stop = nullptr);
Measurement time_runs(Session& session, const std::vector<float>& input, std::vector<float>& logits,
                      const MeasureOptions& options, Progress& progress, const std::string& label,
                      const std::atomic<bool>* stop = nullptr);

}  // namespace pfrt::tools
