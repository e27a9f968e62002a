#include "cpu/affinity.hpp"

#include <pthread.h>

#include <cstdio>

#include "error.hpp"

namespace pfrt::cpu {

namespace {

std::string cpu_list(const cpu_set_t& set) {
  std::string text;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) text += (text.empty() ? "" : ",") + std::to_string(cpu);
  }
  return text.empty() ? "none" : text;
}

}  // namespace

std::string describe_mask(uint64_t mask) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(mask));
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu = 0; cpu < 64; ++cpu) {
    if ((mask >> cpu) & 1u) CPU_SET(cpu, &set);
  }
  return std::string(hex) + " (CPUs " + cpu_list(set) + ")";
}

cpu_set_t usable_cpus(uint64_t mask) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    core::fail(PFRT_BACKEND_ERROR, "cpu backend: cannot read this process's CPU affinity");
  }
  cpu_set_t usable;
  CPU_ZERO(&usable);
  for (int cpu = 0; cpu < 64; ++cpu) {
    if (((mask >> cpu) & 1u) && CPU_ISSET(cpu, &allowed)) CPU_SET(cpu, &usable);
  }
  if (CPU_COUNT(&usable) == 0) {
    core::fail(PFRT_INVALID_ARGUMENT,
               "affinity_mask " + describe_mask(mask) +
                   " names no online CPU this process may use (usable CPUs: " + cpu_list(allowed) + ")");
  }
  return usable;
}

ScopedAffinity::ScopedAffinity(bool active, const cpu_set_t& cpus) : active_(active) {
  if (!active_) return;
  CPU_ZERO(&saved_);
  active_ = ::pthread_getaffinity_np(::pthread_self(), sizeof saved_, &saved_) == 0 &&
            ::pthread_setaffinity_np(::pthread_self(), sizeof cpus, &cpus) == 0;
}

ScopedAffinity::~ScopedAffinity() {
  if (active_) ::pthread_setaffinity_np(::pthread_self(), sizeof saved_, &saved_);
}

}  // namespace pfrt::cpu
