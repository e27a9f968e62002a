// How the transport libraries (libpfrt_mpi, libpfrt_nccl) wait for a collective that may never
// complete: poll it without sleeping for a few microseconds (a collective whose ranks are all
// there completes within them), then with short sleeps (a waiting rank leaves its core to the
// others), until it is done, fails, or the timeout passes. Header-only: each library has its own
// copy, and libpfrt needs neither.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace pfrt::transport {

inline constexpr double kDefaultTimeoutMs = 60000.0;

// The timeout the environment variable `name` gives in ms (a positive number), else the default.
inline double timeout_from_environment(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return kDefaultTimeoutMs;
  char* end = nullptr;
  const double ms = std::strtod(text, &end);
  return end != text && *end == '\0' && ms > 0 ? ms : kDefaultTimeoutMs;
}

// Calls `poll(error)` until it returns true (done) or sets `error` (failed), or `timeout_ms`
// passes; returns empty, the error, or the timeout's message (naming `variable`, the
// environment variable that sets the limit).
template <class Poll>
std::string wait_for(Poll&& poll, double timeout_ms, const char* variable) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::microseconds(50);
  constexpr auto kNap = std::chrono::microseconds(20);
  const Clock::time_point start = Clock::now();
  const auto timeout = std::chrono::duration<double, std::milli>(timeout_ms);
  for (;;) {
    std::string error;
    if (poll(error)) return {};
    if (!error.empty()) return error;
    const auto waited = Clock::now() - start;
    if (waited > timeout) {
      char text[200];
      std::snprintf(text, sizeof text,
                    "no answer from the other ranks within %.0f ms (a rank exited, failed, or makes different calls; "
                    "%s sets the limit)",
                    timeout_ms, variable);
      return text;
    }
    if (waited > kSpin) std::this_thread::sleep_for(kNap);
  }
}

}  // namespace pfrt::transport
