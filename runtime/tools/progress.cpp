#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace pfrt::tools {

Progress::Progress(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { clear(); }

void Progress::update(const std::string& label, size_t done, size_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done != total) return;
  last_ = now;
  if (total > 0) {
    std::fprintf(stderr, "\r\033[K%s  %zu/%zu (%.0f%%)", label.c_str(), done, total,
                 100.0 * double(done) / double(total));
  } else {
    std::fprintf(stderr, "\r\033[K%s  %zu", label.c_str(), done);
  }
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace pfrt::tools
