#include "common.hpp"

#include <cstdio>
#include <exception>

namespace pfrt::tools {

void add_session_options(ArgParser& args) {
  args.option("backend", "NAME", "backend: cpu, reference or cuda (default: the fastest built in)");
  args.option("threads", "N", "worker threads (default 0: every online core)");
  args.option("affinity", "MASK", "pin workers to CPUs: a list (0,2-3) or a hex mask (0x5)");
  args.option("spin-us", "N", "microseconds an idle worker spins before it sleeps (0: never; default: pfrt's)");
}

SessionOptions session_options(const ArgParser& args, bool threads_list) {
  SessionOptions o;
  o.backend = args.value("backend");
  if (args.has("backend")) {
    if (o.backend.empty()) throw UsageError("option '--backend' needs a name");
    bool known = false;
    std::string names;
    for (size_t i = 0; const char* n = pfrt_backend_name(i); ++i) {
      names += (i ? ", " : "") + std::string(n);
      known = known || o.backend == n;
    }
    if (!known) throw UsageError("backend '" + o.backend + "' is not built into this pfrt (built in: " + names + ")");
    if (pfrt_backend_check(o.backend.c_str()) != PFRT_OK) {
      throw Error(PFRT_BACKEND_ERROR, pfrt_last_error());  // it names the backend and the reason already
    }
  }
  if (args.has("threads") && !threads_list) o.threads = int32_t(parse_uint("threads", args.value("threads"), 0, 1024));
  if (args.has("affinity")) o.affinity_mask = parse_cpu_mask("affinity", args.value("affinity"));
  if (args.has("spin-us")) o.spin_us = int32_t(parse_uint("spin-us", args.value("spin-us"), 0, 1000000));
  return o;
}

void write_json_header(JsonWriter& json, const std::string& tool, const MachineInfo& machine) {
  json.field("tool", tool).field("version", pfrt_version()).field("commit", git_commit());
  json.key("machine").begin_object();
  json.field("cpu_model", machine.cpu_model).field("cores", machine.cores).field("cpu_isa", machine.cpu_isa);
  json.field("os", machine.os);
  json.end_object();
  json.field("pfrt_version", pfrt_version()).field("git_commit", git_commit());  // 0.1's names, kept
}

void write_model_json(JsonWriter& json, const std::string& path, const Model& model) {
  const ModelInfo i = model.info();
  json.key("model").begin_object();
  json.field("path", path).field("name", model.name()).field("file_size", i.file_size);
  json.field("image_size", i.image_size).field("channels", i.channels).field("patch_size", i.patch_size);
  json.field("embed_dim", i.embed_dim).field("heads", i.heads).field("head_dim", i.head_dim);
  json.field("mlp_dim", i.mlp_dim).field("branches", i.branches).field("blocks_per_branch", i.blocks_per_branch);
  json.field("classes", i.classes).field("parameters", i.parameters).field("flops", i.flops);
  json.field("training", i.training == PFRT_TRAINING_PROGRESSIVE ? "progressive"
                         : i.training == PFRT_TRAINING_PLAIN     ? "plain"
                                                                 : "unknown");
  json.end_object();
}

std::string human_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", double(bytes) / double(1u << 30));
  else if (bytes >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof(buf), "%.2f MiB", double(bytes) / double(1u << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof(buf), "%.1f KiB", double(bytes) / 1024.0);
  else std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

bool print_help_or_version(const ArgParser& args, const char* program) {
  if (args.has("help")) {
    std::fputs(args.help().c_str(), stdout);
    return true;
  }
  if (args.has("version")) {
    std::printf("%s %s (commit %s, model format %u)\n", program, pfrt_version(), git_commit().c_str(),
                pfrt_format_version());
    return true;
  }
  return false;
}

int run_tool(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\n(run '%s --help' for the options)\n", program, e.what(), program);
    return kExitUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s (%s)\n", program, e.what(), pfrt_status_string(e.status()));
    return kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return kExitFailure;
  }
}

}  // namespace pfrt::tools
