// What a benchmark result must say about the machine it came from, so that results from many
// devices can be compared: CPU model, core count, SIMD extensions, the process's peak memory.
#pragma once

#include <cstdint>
#include <string>

namespace pfrt::tools {

struct MachineInfo {
  std::string cpu_model;  // from /proc/cpuinfo ("unknown" when absent)
  unsigned cores = 0;     // online logical CPUs
  std::string cpu_isa;    // the widest SIMD extensions the CPU offers ("avx512f avx2 fma", "neon")
  std::string os;         // uname: system, release, machine
};

MachineInfo machine_info();

// Online logical CPUs (at least 1).
unsigned online_cores();

// Peak resident set size of this process so far, in bytes (getrusage).
uint64_t peak_rss_bytes();

// Size of a file in bytes, 0 when it cannot be read.
uint64_t file_size_bytes(const std::string& path);

}  // namespace pfrt::tools
