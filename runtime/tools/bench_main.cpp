// pfrt-bench: latency, throughput and where the time goes, for one model or for the depth
// sweep of random models; text, markdown or JSON.
#include <cstdio>
#include <iostream>

#include "bench.hpp"
#include "common.hpp"
#include "output_file.hpp"

using namespace pfrt::tools;

namespace {

BenchConfig parse(const ArgParser& args) {
  BenchConfig c;
  const bool sweep = args.has("sweep"), prefix = args.has("prefix-sweep");
  if (args.has("plot")) {
    if (!sweep && !prefix && !args.has("plot-json")) {
      throw UsageError("option '--plot' draws --sweep or --prefix-sweep (or a saved report: --plot-json)");
    }
    c.plot_path = args.value("plot");
    pfrt::convert::check_output_path(c.plot_path);  // a bad path fails before the measurement
  }
  if (sweep && prefix) throw UsageError("--sweep and --prefix-sweep are separate modes: give one");
  if (args.has("json") && args.has("markdown")) throw UsageError("--json and --markdown exclude each other");
  if (sweep) {
    if (!args.positional().empty()) throw UsageError("--sweep builds its own models: no MODEL argument");
  } else if (args.positional().size() != 1) {
    throw UsageError(args.positional().empty()
                         ? "no MODEL given"
                         : "one MODEL expected, got " + std::to_string(args.positional().size()) + " arguments");
  } else {
    c.model_path = args.positional().front();
  }
  c.session = session_options(args, true);
  if (args.has("threads")) {
    c.threads = parse_uint_list("threads", args.value("threads"), 0, 1024);
    if (c.threads.size() > 1 && !sweep) throw UsageError("option '--threads': a list is only for --sweep");
    c.session.threads = int32_t(c.threads.front());
  }
  if (args.has("warmup")) c.measure.warmup = uint32_t(parse_uint("warmup", args.value("warmup"), 0, 100000));
  if (args.has("runs")) c.measure.runs = uint32_t(parse_uint("runs", args.value("runs"), 1, 1000000));
  if (args.has("min-seconds"))
    c.measure.min_seconds = parse_double("min-seconds", args.value("min-seconds"), 0.0, 86400.0);
  if (args.has("background-load")) {
    const unsigned cores = online_cores();
    const std::string n = args.value("background-load");
    c.measure.background_load = uint32_t(parse_uint("background-load", n, 0, UINT32_MAX));
    if (c.measure.background_load > cores) {
      throw UsageError("option '--background-load': " + n + " busy-loop processes are more than the " +
                       std::to_string(cores) +
                       " online cores (a load beyond the cores tells nothing a device would meet)");
    }
  }
  if (args.has("streams")) {
    if (sweep || prefix) throw UsageError("option '--streams' times one model: not with --sweep or --prefix-sweep");
    const std::string n = args.value("streams");
    if (!n.empty() && n.find_first_not_of('0') == std::string::npos) {
      throw UsageError("option '--streams': '" + n + "' streams time nothing (give 1 to 1024)");
    }
    c.streams = uint32_t(parse_uint("streams", n, 1, 1024));
  }
  if (args.has("batch")) c.batch = uint32_t(parse_uint("batch", args.value("batch"), 1, 4096));
  if (args.has("prefix")) {
    if (sweep || prefix) throw UsageError("option '--prefix' times one prefix of one model: not with the sweeps");
    c.measure.run.branches = uint32_t(parse_uint("prefix", args.value("prefix"), 1, 1024));
  }
  if (args.has("json")) c.format = OutputFormat::kJson;
  if (args.has("markdown")) c.format = OutputFormat::kMarkdown;
  c.reference_gemm = !args.has("no-reference-gemm");
  if (args.has("precision")) {
    if (!args.has("sweep")) throw UsageError("option '--precision' sets the precision of --sweep models");
    c.precision = args.value("precision");
    if (c.precision != "f32" && c.precision != "f16" && c.precision != "int8") {
      throw UsageError("option '--precision': '" + c.precision + "' is not f32, f16 or int8");
    }
  }
  c.progress = !args.has("no-progress");
  if (args.has("profile")) {
    if (prefix) throw UsageError("option '--profile' goes with one model or --sweep, not --prefix-sweep");
    if (args.value("profile") != "stages") {
      throw UsageError("option '--profile': unknown profile '" + args.value("profile") +
                       "' (stages: time and GFLOP/s per kind of stage; the per-branch profile is always shown)");
    }
    c.stage_profile = true;
  }
  const auto dim = [&args](const char* name, uint32_t& field, uint64_t max) {
    if (!args.has(name)) return;
    if (!args.has("sweep")) throw UsageError(std::string("option '--") + name + "' sets the shape of --sweep models");
    field = uint32_t(parse_uint(name, args.value(name), 1, max));
  };
  dim("image-size", c.shape.image_size, 4096);
  dim("channels", c.shape.channels, 64);
  dim("patch-size", c.shape.patch_size, 4096);
  dim("dim", c.shape.embed_dim, 16384);
  dim("heads", c.shape.heads, 1024);
  dim("head-dim", c.shape.head_dim, 16384);
  dim("mlp-dim", c.shape.mlp_dim, 16384);
  dim("classes", c.shape.classes, 1u << 20);
  if (args.has("branches")) {
    if (!sweep) throw UsageError("option '--branches' lists the parallel depths of --sweep");
    c.parallel_depths = args.value("branches") == "none" ? std::vector<uint32_t>{}
                                                         : parse_uint_list("branches", args.value("branches"), 1, 1024);
  }
  if (args.has("blocks")) {
    if (!sweep) throw UsageError("option '--blocks' lists the serial depths of --sweep");
    c.serial_depths = args.value("blocks") == "none" ? std::vector<uint32_t>{}
                                                     : parse_uint_list("blocks", args.value("blocks"), 1, 1024);
  }
  if (args.has("eval")) {
    if (!prefix) throw UsageError("option '--eval' goes with --prefix-sweep (pfrt-run --eval evaluates one model)");
    c.eval_images = args.values("eval")[0];
    c.eval_labels = args.values("eval")[1];
  }
  if (args.has("limit")) {
    if (!args.has("eval")) throw UsageError("option '--limit' goes with --eval");
    c.eval_limit = uint32_t(parse_uint("limit", args.value("limit"), 1, UINT32_MAX));
  }
  return c;
}

// Several ranks time one sharded session: every rank must make the same runs, so what ends
// a measurement is a run count, not a clock each rank reads for itself.
void check_sharded(const BenchConfig& c, const ArgParser& args) {
  const std::string ranks = std::to_string(c.ranks.ranks) + " MPI ranks";
  if (args.has("sweep") || args.has("prefix-sweep")) {
    throw UsageError("--sweep and --prefix-sweep time single-process sessions: run them without mpirun (" + ranks +
                     " given)");
  }
  if (args.has("streams")) throw UsageError("option '--streams' is not for a sharded session (" + ranks + ")");
  if (c.measure.min_seconds > 0) {
    throw UsageError("option '--min-seconds' would let each of the " + ranks +
                     " stop at a different run: give --runs instead");
  }
  if (c.measure.background_load > 0) {
    throw UsageError("option '--background-load' is not for a sharded session (" + ranks + ")");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Ranks ranks;  // under mpirun -n R: this process's rank (ranks.hpp)
  const int status = run_tool("pfrt-bench", [&]() -> int {
    ranks = join_ranks();
    ArgParser args("pfrt-bench",
                   "MODEL [options]\n       pfrt-bench --sweep [shape options]\n       pfrt-bench MODEL --prefix-sweep "
                   "[--eval IMAGES LABELS]");
    add_session_options(args);
    add_transport_option(args);
    args.option("warmup", "N", "untimed runs before timing (default 2)");
    args.option("runs", "N", "timed runs, at least (default 20)");
    args.option("min-seconds", "S", "keep timing until S seconds have passed (default 0)");
    args.option("batch", "N", "images per run (default 1)");
    args.option("background-load", "N",
                "N busy-loop processes beside warm-up and timing (at most the cores; default 0)");
    args.option("prefix", "K", "run only branches 1..K (a prefix; default: every branch)");
    args.option("streams", "N", "N sessions timed at once on N threads, as N cameras (--threads: per stream)");
    args.option("profile", "stages", "also time each kind of stage (stem, qkv, attention, ...) with its GFLOP/s");
    args.flag("json", "print one JSON object");
    args.flag("markdown", "print a markdown table");
    args.flag("no-reference-gemm", "skip the XNNPACK reference GEMM measurement");
    args.flag("no-progress", "no progress line even on a terminal");
    args.flag("sweep", "depth sweep of random models: parallel B branches vs serial L blocks");
    args.option("branches", "LIST", "--sweep: parallel depths (default 1,2,4,8,12; 'none' to skip)");
    args.option("blocks", "LIST", "--sweep: serial depths (default 1,2,4,8,12; 'none' to skip)");
    args.option("precision", "P", "--sweep: GEMM weights f32 (default), f16 or int8 (as pfrt-convert --precision)");
    args.option("image-size", "N", "--sweep shape: image side (default 224)");
    args.option("channels", "N", "--sweep shape: image channels (default 3)");
    args.option("patch-size", "N", "--sweep shape: patch side (default 16)");
    args.option("dim", "N", "--sweep shape: embedding width D (default 192)");
    args.option("heads", "N", "--sweep shape: attention heads (default 3)");
    args.option("head-dim", "N", "--sweep shape: head size (default 64)");
    args.option("mlp-dim", "N", "--sweep shape: MLP width (default 768)");
    args.option("classes", "N", "--sweep shape: classes (default 1000)");
    args.flag("prefix-sweep", "latency (and with --eval accuracy) of every prefix of branches 1..k");
    args.option("eval", "IMAGES LABELS", "--prefix-sweep: IDX image and label files (.gz or plain)", 2);
    args.option("limit", "N", "--eval: only the first N images");
    args.option("plot", "FILE.svg", "--sweep, --prefix-sweep: also draw the result as an SVG picture");
    args.option("plot-json", "REPORT.json", "draw a saved --sweep/--prefix-sweep --json report (with --plot)");
    args.parse(argc, argv);
    if (print_help_or_version(args, "pfrt-bench")) return 0;
    if (args.has("plot-json")) {
      if (!args.has("plot")) throw UsageError("option '--plot-json' needs --plot FILE.svg");
      if (!args.positional().empty() || args.has("sweep") || args.has("prefix-sweep")) {
        throw UsageError("option '--plot-json' draws a saved report: no MODEL, --sweep or --prefix-sweep");
      }
      return plot_saved_report(args.value("plot-json"), args.value("plot"));
    }
    BenchConfig config = parse(args);
    read_transport(args, ranks);
    config.ranks = ranks;
    if (ranks.sharded()) check_sharded(config, args);
    if (args.has("sweep")) return bench_sweep(config, std::cout);
    if (args.has("prefix-sweep")) return bench_prefix(config, std::cout);
    return bench_model(config, std::cout);
  });
  leave_ranks(ranks);
  return status;
}
