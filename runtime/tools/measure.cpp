#include "measure.hpp"

#include <algorithm>

#include "background_load.hpp"
#include "stage_profile.hpp"

namespace pfrt::tools {
namespace {

bool stopped(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

}  // namespace

Measurement measure(Session& session, const std::vector<float>& input, std::vector<float>& logits,
                    const MeasureOptions& options, Progress& progress, const std::string& label) {
  BackgroundLoad load(options.background_load);
  warm_up(session, input, logits, options, progress, label);
  return time_runs(session, input, logits, options, progress, label);
}

void warm_up(Session& session, const std::vector<float>& input, std::vector<float>& logits,
             const MeasureOptions& options, Progress& progress, const std::string& label,
             const std::atomic<bool>* stop) {
  for (uint32_t i = 0; i < options.warmup && !stopped(stop); ++i) {
    progress.update(label + " warm-up", i, options.warmup);
    session.run(input.data(), input.size(), logits.data(), logits.size(), options.run);
  }
}

Measurement time_runs(Session& session, const std::vector<float>& input, std::vector<float>& logits,
                      const MeasureOptions& options, Progress& progress, const std::string& label,
                      const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  Measurement m;
  m.start = clock::now();
  // Time spent in options.interleave, which counts towards no minimum of the runs'.
  clock::duration interleaved{};
  clock::time_point last_interleave = m.start;
  const auto interleave = [&] {
    if (!options.interleave) return;
    const auto t0 = clock::now();
    options.interleave();
    last_interleave = clock::now();
    interleaved += last_interleave - t0;
  };
  interleave();
  size_t profiled = 0;
  while (!stopped(stop) &&
         (m.latency_ms.size() < options.runs ||
          (std::chrono::duration<double>(clock::now() - m.start - interleaved).count() < options.min_seconds &&
           m.latency_ms.size() < options.max_runs))) {
    if (std::chrono::duration<double>(clock::now() - last_interleave).count() >= options.interleave_seconds) {
      interleave();
    }
    progress.update(label, m.latency_ms.size(), options.runs);
    const auto t0 = clock::now();
    const RunResult r = session.run(input.data(), input.size(), logits.data(), logits.size(), options.run);
    m.latency_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    m.branches_used = r.branches_used;
    const Profile p = session.profile();
    if (m.profile.branch_ms.size() < p.branch_ms.size()) m.profile.branch_ms.resize(p.branch_ms.size(), 0.0);
    for (size_t b = 0; b < p.branch_ms.size(); ++b) m.profile.branch_ms[b] += p.branch_ms[b];
    m.profile.stem_ms += p.stem_ms;
    m.profile.branches_ms += p.branches_ms;
    m.profile.head_ms += p.head_ms;
    m.profile.longest_branch_ms += p.longest_branch_ms;
    add_stage_times(m.profile.stages, p.stages);
    pfrt_shard_profile shard;
    pfrt_shard_profile_init(&shard);
    if (pfrt_session_get_shard_profile(session.get(), &shard) == PFRT_OK) {
      m.shard.rank = shard.rank;
      m.shard.ranks = shard.ranks;
      m.shard.branches_owned = shard.branches_owned;
      m.shard.agree_ms += shard.agree_ms;
      m.shard.reduce_ms += shard.reduce_ms;
    }
    ++profiled;
  }
  interleave();
  m.end = clock::now();
  progress.clear();
  if (profiled > 0) {
    const double n = double(profiled);
    for (double& b : m.profile.branch_ms) b /= n;
    m.profile.stem_ms /= n;
    m.profile.branches_ms /= n;
    m.profile.head_ms /= n;
    m.profile.longest_branch_ms /= n;
    scale_stage_times(m.profile.stages, n);
    m.shard.agree_ms /= n;
    m.shard.reduce_ms /= n;
  }
  return m;
}

}  // namespace pfrt::tools
