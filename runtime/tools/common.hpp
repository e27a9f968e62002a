// What pfrt-bench and pfrt-run share: the session options (--backend, --threads, --affinity,
// --spin-us), the build's identity, the machine block of JSON reports, and the exit-code
// convention (0 success, 1 failure, 2 bad usage).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "args.hpp"
#include "json_writer.hpp"
#include "machine_info.hpp"
#include "pfrt/pfrt.hpp"

namespace pfrt::tools {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Declares --backend, --threads, --affinity, --spin-us, and reads them back (--threads is left to the
// caller when `threads_list`: pfrt-bench --sweep takes a list).
void add_session_options(ArgParser& args);
SessionOptions session_options(const ArgParser& args, bool threads_list = false);

// The commit the tools were built from ("unknown" outside git); defined in build_commit.cpp,
// which runtime/tools/git_commit.cmake writes at every build.
std::string git_commit();

// The header every JSON report starts with (docs/json.md): "tool", "version", "commit",
// "machine": {...}, and the older names "pfrt_version" and "git_commit" of the same values.
void write_json_header(JsonWriter& json, const std::string& tool, const MachineInfo& machine);

// "model": {...}, the same object in every report: the file and what pfrt_model_info says.
void write_model_json(JsonWriter& json, const std::string& path, const Model& model);

std::string human_bytes(uint64_t bytes);  // "1.23 MiB"

// After ArgParser::parse: prints --help or --version ("pfrt-run 0.2.0 (commit abc, model format
// N)") to stdout and returns true when one was asked for.
bool print_help_or_version(const ArgParser& args, const char* program);

// Runs a tool's body, turning exceptions into a message on stderr and an exit code:
// UsageError -> 2 (with a hint to --help), pfrt::Error and other failures -> 1.
int run_tool(const char* program, const std::function<int()>& body);

}  // namespace pfrt::tools
