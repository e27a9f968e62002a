// A one-line progress display on stderr, redrawn in place, shown only when stderr is a
// terminal (so logs and pipes stay clean).
#pragma once

#include <chrono>
#include <string>

namespace pfrt::tools {

class Progress {
 public:
  explicit Progress(bool enabled);  // enabled && isatty(stderr)
  ~Progress();
  // "label  done/total" (total 0: no total); redrawn at most every 100 ms.
  void update(const std::string& label, size_t done, size_t total);
  void clear();  // erase the line

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace pfrt::tools
