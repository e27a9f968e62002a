// Latency statistics of a benchmark's samples.
#pragma once

#include <cstddef>
#include <vector>

namespace pfrt::tools {

struct LatencyStats {
  size_t count = 0;
  double mean = 0, stdev = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// The q-quantile (q in [0, 1]) of sorted samples, interpolating linearly between the two
// nearest ranks (position q * (n - 1), numpy's default). 0 for no samples.
double percentile(const std::vector<double>& sorted, double q);

// Mean, sample standard deviation (n - 1; 0 for one sample), extremes and percentiles.
LatencyStats summarize(std::vector<double> samples);

}  // namespace pfrt::tools
