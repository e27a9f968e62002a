#include "machine_info.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace pfrt::tools {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  // x86 says "model name"; arm64 kernels give "Model" (board) or only "CPU part".
  for (const char* key : {"model name", "Model", "Hardware", "CPU part"}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (line.compare(0, std::string(key).size(), key) != 0) continue;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      if (!v.empty()) return v;
    }
  }
  return "unknown";
}

std::string simd_extensions() {
#if defined(__x86_64__) || defined(__i386__)
  std::string isa;
  __builtin_cpu_init();
  const auto add = [&isa](bool present, const char* name) {
    if (!present) return;
    if (!isa.empty()) isa += " ";
    isa += name;
  };
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("avx"), "avx");
  add(__builtin_cpu_supports("sse4.1"), "sse4.1");
  return isa.empty() ? "sse2" : isa;
#elif defined(__aarch64__)
  return "neon (aarch64)";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "scalar";
#endif
}

}  // namespace

MachineInfo machine_info() {
  MachineInfo m;
  m.cpu_model = cpu_model_name();
  m.cores = online_cores();
  m.cpu_isa = simd_extensions();
  utsname u{};
  if (::uname(&u) == 0) m.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  return m;
}

unsigned online_cores() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? unsigned(n) : 1;
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return uint64_t(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

uint64_t file_size_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return uint64_t(st.st_size);
}

}  // namespace pfrt::tools
