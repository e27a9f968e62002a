// pfrt-bench MODEL: load, session and first-run times, latency statistics, throughput, the
// profile's per-branch times and critical path, GFLOP/s against the reference GEMM, memory.
// With --streams N: N sessions timed at once, the aggregate and each stream's figures.
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>

#include "bench.hpp"
#include "common.hpp"
#include "reference_gemm.hpp"
#include "stage_profile.hpp"
#include "stats.hpp"
#include "streams.hpp"

namespace pfrt::tools {

std::vector<float> random_input(const ModelInfo& info, uint32_t batch) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(size_t(batch) * info.channels * info.image_size * info.image_size);
  for (float& v : x) v = dist(rng);
  return x;
}

void print_background_load(const BenchConfig& c, unsigned cores, std::ostream& out) {
  const uint32_t n = c.measure.background_load;
  if (n == 0) return;
  out << "background   " << n << " busy-loop process" << (n == 1 ? "" : "es") << " beside the benchmark (of " << cores
      << " cores)\n";
}

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

const char* training_name(pfrt_training t) {
  return t == PFRT_TRAINING_PROGRESSIVE ? "progressive" : t == PFRT_TRAINING_PLAIN ? "plain" : "unknown";
}

struct StreamReport {
  LatencyStats latency;
  double images_per_s = 0;  // its images over the time from the common start to its last run's end
};

struct StreamsReport {
  double aggregate_images_per_s = 0;  // every stream's images over wall_s
  double wall_s = 0;                  // the common start to the last stream's end
  std::vector<StreamReport> per_stream;
};

struct ModelReport {
  MachineInfo machine;
  ModelInfo info{};
  std::string model_name, backend, describe;
  uint32_t threads = 0;
  double load_ms = 0, session_ms = 0, first_run_ms = 0;
  LatencyStats latency;
  Profile profile;
  double throughput = 0, gflops = 0;
  std::optional<GemmShape> gemm;
  double gemm_gflops = 0;
  std::string gemm_error;
  uint64_t peak_rss = 0;
  std::optional<StreamsReport> streams;  // --streams; the figures above are then stream 0's
  pfrt_shard_profile shard{};            // mpirun -n R: rank 0's exchanges (ranks 0: not sharded)
  double critical_path_ms() const { return profile.stem_ms + profile.longest_branch_ms + profile.head_ms; }
};

void print_streams_text(const ModelReport& r, std::ostream& out) {
  const StreamsReport& s = *r.streams;
  char line[512];
  std::snprintf(line, sizeof(line), "streams      %zu x (%u threads): aggregate %.1f images/s over %.3f s",
                s.per_stream.size(), r.threads, s.aggregate_images_per_s, s.wall_s);
  out << line << "\n";
  for (size_t k = 0; k < s.per_stream.size(); ++k) {
    const StreamReport& st = s.per_stream[k];
    std::snprintf(line, sizeof(line), "stream %-5zu p50 %.3f ms, p99 %.3f ms, %.1f images/s  (%zu runs)", k,
                  st.latency.p50, st.latency.p99, st.images_per_s, st.latency.count);
    out << line << "\n";
  }
  out << "memory       peak RSS " << human_bytes(r.peak_rss) << " (" << s.per_stream.size() << " sessions), model file "
      << human_bytes(r.info.file_size) << "\n";
}

// The time of the exchanges between the ranks, and their share of the latency.
void print_shard_text(const ModelReport& r, std::ostream& out) {
  const pfrt_shard_profile& s = r.shard;
  if (s.ranks < 2) return;
  const double mean = r.latency.mean;
  char line[320];
  std::snprintf(line, sizeof(line),
                "shards       %d ranks, rank 0 owns %u of %u branches; reduction %.3f ms (%.1f %% of the mean latency) "
                "= agree %.3f ms (waits for the slowest rank) + sum %.3f ms",
                s.ranks, s.branches_owned, r.info.branches, s.agree_ms + s.reduce_ms,
                mean > 0 ? 100.0 * (s.agree_ms + s.reduce_ms) / mean : 0.0, s.agree_ms, s.reduce_ms);
  out << line << "\n";
}

void print_text(const BenchConfig& c, const ModelReport& r, std::ostream& out) {
  char line[512];
  const auto emit = [&out, &line]() { out << line << "\n"; };
  std::snprintf(line, sizeof(line), "pfrt-bench %s (commit %s) on %s, %u cores, %s", pfrt_version(),
                git_commit().c_str(), r.machine.cpu_model.c_str(), r.machine.cores, r.machine.cpu_isa.c_str());
  emit();
  std::snprintf(line, sizeof(line),
                "model        %s: %u branches x %u blocks, %ux%ux%u, %u classes, %.3f GFLOP/image, training %s, "
                "precision %s (activations quantised: %s)",
                c.model_path.c_str(), r.info.branches, r.info.blocks_per_branch, r.info.image_size, r.info.image_size,
                r.info.channels, r.info.classes, double(r.info.flops) * 1e-9, training_name(r.info.training),
                precision_name(r.info.precision), activations_name(r.info.activations));
  emit();
  std::snprintf(line, sizeof(line), "session      %s; %u worker threads%s, batch %u", r.describe.c_str(), r.threads,
                r.streams ? " per stream" : "", c.batch);
  emit();
  if (c.measure.run.branches) {
    std::snprintf(line, sizeof(line), "prefix       branches 1..%u of %u (--prefix)", c.measure.run.branches,
                  r.info.branches);
    emit();
  }
  print_background_load(c, r.machine.cores, out);
  if (r.streams) return print_streams_text(r, out);
  std::snprintf(line, sizeof(line), "load         %9.3f ms  (open + verify)", r.load_ms);
  emit();
  std::snprintf(line, sizeof(line), "create       %9.3f ms  (session: backend preparation, weight packing)",
                r.session_ms);
  emit();
  std::snprintf(line, sizeof(line), "first run    %9.3f ms", r.first_run_ms);
  emit();
  const LatencyStats& l = r.latency;
  std::snprintf(line, sizeof(line),
                "latency      mean %.3f ± %.3f ms, min %.3f, p50 %.3f, p90 %.3f, p99 %.3f, max %.3f  (%zu runs)",
                l.mean, l.stdev, l.min, l.p50, l.p90, l.p99, l.max, l.count);
  emit();
  std::snprintf(line, sizeof(line), "throughput   %.1f images/s", r.throughput);
  emit();
  if (r.gflops > 0) std::snprintf(line, sizeof(line), "compute      %.2f GFLOP/s at p50", r.gflops);
  else std::snprintf(line, sizeof(line), "compute      not rated: the operation count is the whole model's");
  emit();
  if (r.gemm && r.gemm_gflops > 0) {
    std::snprintf(
        line, sizeof(line),
        "ref. GEMM    %.2f GFLOP/s: XNNPACK fully-connected alone, %s %llux%llux%llu, %u threads; model at %.1f %%",
        r.gemm_gflops, r.gemm->name.c_str(), static_cast<unsigned long long>(r.gemm->m),
        static_cast<unsigned long long>(r.gemm->k), static_cast<unsigned long long>(r.gemm->n), r.threads,
        100.0 * r.gflops / r.gemm_gflops);
    emit();
  } else if (!r.gemm_error.empty()) {
    out << "ref. GEMM    not measured: " << r.gemm_error << "\n";
  }
  const Profile& p = r.profile;
  std::snprintf(line, sizeof(line),
                "profile      stem %.3f ms, branches %.3f ms (longest %.3f), head %.3f ms (mean per run)", p.stem_ms,
                p.branches_ms, p.longest_branch_ms, p.head_ms);
  emit();
  std::snprintf(line, sizeof(line), "critical     %.3f ms = stem + longest branch + head, %.0f %% of the mean latency",
                r.critical_path_ms(), l.mean > 0 ? 100.0 * r.critical_path_ms() / l.mean : 0.0);
  emit();
  print_shard_text(r, out);
  out << "branch ms   ";
  for (double b : p.branch_ms) {
    std::snprintf(line, sizeof(line), " %.3f", b);
    out << line;
  }
  out << "\n";
  out << "memory       peak RSS " << human_bytes(r.peak_rss) << ", model file " << human_bytes(r.info.file_size)
      << "\n";
  if (c.stage_profile) print_stage_table(p.stages, false, out);
}

// A row per stream and one for all of them (the aggregate images/s).
void print_streams_markdown(const BenchConfig& c, const ModelReport& r, std::ostream& out) {
  out << "| model | backend | stream | threads | batch | p50 ms | p99 ms | images/s |\n";
  out << "|---|---|---:|---:|---:|---:|---:|---:|\n";
  char line[512];
  const StreamsReport& s = *r.streams;
  for (size_t k = 0; k < s.per_stream.size(); ++k) {
    const StreamReport& st = s.per_stream[k];
    std::snprintf(line, sizeof(line), "| %s | %s | %zu | %u | %u | %.3f | %.3f | %.1f |", c.model_path.c_str(),
                  r.backend.c_str(), k, r.threads, c.batch, st.latency.p50, st.latency.p99, st.images_per_s);
    out << line << "\n";
  }
  std::snprintf(line, sizeof(line), "| %s | %s | all %zu | %u | %u | - | - | %.1f |", c.model_path.c_str(),
                r.backend.c_str(), s.per_stream.size(), r.threads, c.batch, s.aggregate_images_per_s);
  out << line << "\n";
}

void print_markdown(const BenchConfig& c, const ModelReport& r, std::ostream& out) {
  print_background_load(c, r.machine.cores, out);
  if (c.measure.background_load > 0) out << "\n";
  if (r.streams) return print_streams_markdown(c, r, out);
  out << "| model | backend | threads | batch | p50 ms | mean ± sd ms | p99 ms | images/s | GFLOP/s | % of ref. GEMM | "
         "peak RSS |\n";
  out << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  char line[512];
  std::snprintf(line, sizeof(line), "| %s | %s | %u | %u | %.3f | %.3f ± %.3f | %.3f | %.1f | %.2f | %s | %s |",
                c.model_path.c_str(), r.backend.c_str(), r.threads, c.batch, r.latency.p50, r.latency.mean,
                r.latency.stdev, r.latency.p99, r.throughput, r.gflops,
                r.gemm_gflops > 0 ? (std::to_string(int(100.0 * r.gflops / r.gemm_gflops + 0.5)) + " %").c_str() : "-",
                human_bytes(r.peak_rss).c_str());
  out << line << "\n";
  if (c.stage_profile) print_stage_table(r.profile.stages, true, out);
}

void write_streams_json(JsonWriter& j, const ModelReport& r) {
  const StreamsReport& s = *r.streams;
  j.begin_object();
  j.field("count", uint64_t(s.per_stream.size())).field("threads_per_stream", r.threads);
  j.field("aggregate_images_per_s", s.aggregate_images_per_s).field("wall_s", s.wall_s);
  j.key("per_stream").begin_array();
  for (const StreamReport& st : s.per_stream) {
    j.begin_object();
    j.field("p50_ms", st.latency.p50).field("p99_ms", st.latency.p99).field("mean_ms", st.latency.mean);
    j.field("images_per_s", st.images_per_s).field("runs", uint64_t(st.latency.count));
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

void print_json(const BenchConfig& c, const ModelReport& r, const Model& model, std::ostream& out) {
  JsonWriter j(out);
  j.begin_object();
  write_json_header(j, "pfrt-bench", r.machine);
  write_model_json(j, c.model_path, model);
  j.key("session").begin_object();
  j.field("backend", r.backend).field("threads", r.threads).field("affinity_mask", c.session.affinity_mask);
  j.field("spin_us", int64_t(c.session.spin_us));  // -1: pfrt's default (describe says which)
  j.field("describe", r.describe);
  j.end_object();
  j.key("options").begin_object();
  j.field("warmup", c.measure.warmup).field("runs", c.measure.runs).field("min_seconds", c.measure.min_seconds);
  j.field("batch", c.batch).field("background_load", c.measure.background_load);
  j.field("prefix", c.measure.run.branches);  // 0: every branch
  j.end_object();
  j.field("load_ms", r.load_ms).field("session_create_ms", r.session_ms).field("first_run_ms", r.first_run_ms);
  j.key("latency_ms").begin_object();
  j.field("count", uint64_t(r.latency.count)).field("mean", r.latency.mean).field("stdev", r.latency.stdev);
  j.field("min", r.latency.min).field("p50", r.latency.p50).field("p90", r.latency.p90).field("p99", r.latency.p99);
  j.field("max", r.latency.max);
  j.end_object();
  j.field("throughput_images_per_s", r.throughput).key("gflops");
  if (r.gflops > 0) j.value(r.gflops);
  else j.null();  // --prefix: not rated
  j.key("reference_gemm");
  if (r.gemm && r.gemm_gflops > 0) {
    j.begin_object();
    j.field("layer", r.gemm->name).field("m", r.gemm->m).field("k", r.gemm->k).field("n", r.gemm->n);
    j.field("threads", r.threads).field("gflops", r.gemm_gflops).field("model_fraction", r.gflops / r.gemm_gflops);
    j.end_object();
  } else {
    j.null();
  }
  j.key("profile").begin_object();
  j.field("stem_ms", r.profile.stem_ms).field("branches_ms", r.profile.branches_ms).field("head_ms", r.profile.head_ms);
  j.field("longest_branch_ms", r.profile.longest_branch_ms).field("critical_path_ms", r.critical_path_ms());
  j.field("critical_path_fraction", r.latency.mean > 0 ? r.critical_path_ms() / r.latency.mean : 0.0);
  j.key("branch_ms").begin_array();
  for (double b : r.profile.branch_ms) j.value(b);
  j.end_array();
  if (c.stage_profile) write_stages_json(j, r.profile.stages);
  j.end_object();
  j.field("peak_rss_bytes", r.peak_rss);
  j.key("shards");  // mpirun -n R: the exchanges of rank 0, mean per run
  if (r.shard.ranks > 1) {
    const double reduction = r.shard.agree_ms + r.shard.reduce_ms;
    j.begin_object().field("ranks", r.shard.ranks).field("branches_owned_by_rank_0", r.shard.branches_owned);
    j.field("agree_ms", r.shard.agree_ms).field("sum_ms", r.shard.reduce_ms).field("reduction_ms", reduction);
    j.field("reduction_fraction", r.latency.mean > 0 ? reduction / r.latency.mean : 0.0).end_object();
  } else {
    j.null();
  }
  j.key("streams");
  if (r.streams) write_streams_json(j, r);
  else j.null();
  j.end_object();
}

// --streams: `first` and N - 1 more sessions, timed together into r.streams; returns stream
// 0's measurement, which the report's single-session figures then describe.
Measurement time_streams(const BenchConfig& c, const Model& model, Session first, Progress& progress, ModelReport& r) {
  if (c.streams > 1 && uint64_t{c.streams} * r.threads > r.machine.cores) {
    std::fprintf(stderr,
                 "pfrt-bench: warning: %u streams x %u threads = %llu workers on %u cores: the streams compete "
                 "for cores (--threads sets each stream's threads)\n",
                 c.streams, r.threads, static_cast<unsigned long long>(uint64_t{c.streams} * r.threads),
                 r.machine.cores);
  }
  const auto stream = [&](Session session) {
    return Stream{std::move(session), random_input(r.info, c.batch),
                  std::vector<float>(size_t(c.batch) * r.info.classes)};
  };
  std::vector<Stream> streams;
  streams.reserve(c.streams);
  streams.push_back(stream(std::move(first)));
  while (streams.size() < c.streams) streams.push_back(stream(Session(model, c.session)));

  const StreamsMeasurement sm = measure_streams(streams, c.measure, progress);
  StreamsReport s;
  s.wall_s = sm.wall_s;
  double images = 0;
  for (const Measurement& m : sm.streams) {
    StreamReport st;
    st.latency = summarize(m.latency_ms);
    const double seconds = std::chrono::duration<double>(m.end - sm.start).count();
    st.images_per_s = seconds > 0 ? double(m.latency_ms.size()) * c.batch / seconds : 0.0;
    images += double(m.latency_ms.size()) * c.batch;
    s.per_stream.push_back(st);
  }
  s.aggregate_images_per_s = s.wall_s > 0 ? images / s.wall_s : 0.0;
  r.streams = std::move(s);
  return sm.streams.front();
}

}  // namespace

int bench_model(const BenchConfig& c, std::ostream& out) {
  ModelReport r;
  r.machine = machine_info();
  auto t0 = clock_type::now();
  const Model model = Model::open(c.model_path);
  r.load_ms = ms_since(t0);
  r.info = model.info();
  r.model_name = model.name();
  if (c.measure.run.branches > r.info.branches) {
    throw UsageError("option '--prefix': " + std::to_string(c.measure.run.branches) + " is more than the model's " +
                     std::to_string(r.info.branches) + " branches");
  }
  t0 = clock_type::now();
  Session session = make_session(model, c.session, c.ranks);
  r.session_ms = ms_since(t0);
  r.backend = session.backend();
  r.describe = session.describe();
  r.threads = session.threads();

  const std::vector<float> input = random_input(r.info, c.batch);
  std::vector<float> logits(size_t(c.batch) * r.info.classes);
  t0 = clock_type::now();
  session.run(input.data(), input.size(), logits.data(), logits.size());
  r.first_run_ms = ms_since(t0);

  Progress progress(c.progress && c.format == OutputFormat::kText);
  const Measurement m = c.streams > 0 ? time_streams(c, model, std::move(session), progress, r)
                                      : measure(session, input, logits, c.measure, progress, "timing");
  r.latency = summarize(m.latency_ms);
  r.profile = m.profile;
  r.shard = m.shard;
  r.throughput = r.latency.mean > 0 ? 1000.0 * c.batch / r.latency.mean : 0.0;
  // With --prefix the operation count (the whole model's) does not describe the run: no rate.
  r.gflops =
      r.latency.p50 > 0 && c.measure.run.branches == 0 ? double(r.info.flops) * c.batch / (r.latency.p50 * 1e6) : 0.0;
  r.peak_rss = peak_rss_bytes();                         // before the reference GEMM's own buffers
  if (c.reference_gemm && !r.streams && r.gflops > 0) {  // the machine's ceiling for one session's threads
    r.gemm = largest_gemm(r.info, c.batch);
    try {
      r.gemm_gflops = reference_gemm_gflops(*r.gemm, r.threads, 0.2);
    } catch (const std::exception& e) {
      r.gemm_error = e.what();
    }
  }

  if (c.format == OutputFormat::kJson) print_json(c, r, model, out);
  else if (c.format == OutputFormat::kMarkdown) print_markdown(c, r, out);
  else print_text(c, r, out);
  return 0;
}

}  // namespace pfrt::tools
