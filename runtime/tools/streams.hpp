// pfrt-bench --streams N: N sessions of one model timed at once, one thread each, as with
// several cameras. Each thread runs its session's warm-up; a barrier then starts the timed
// runs of all streams together, and each stream times its own runs as measure() does.
#pragma once

#include <chrono>
#include <vector>

#include "measure.hpp"
#include "pfrt/pfrt.hpp"
#include "progress.hpp"

namespace pfrt::tools {

struct Stream {
  Session session;
  std::vector<float> input, logits;  // the stream's own buffers
};

struct StreamsMeasurement {
  std::vector<Measurement> streams;             // per stream, in order
  std::chrono::steady_clock::time_point start;  // the barrier's release
  double wall_s = 0.0;                          // from the release to the last stream's end
};

// Times the streams together under the options' background load. The first exception of
// any stream (a pfrt::Error from a run, named "stream k: ...") stops the others, cancelling
// their runs in progress, and is rethrown here once every thread has ended. Progress shows
// stream 0's.
StreamsMeasurement measure_streams(std::vector<Stream>& streams, const MeasureOptions& options, Progress& progress);

}  // namespace pfrt::tools
