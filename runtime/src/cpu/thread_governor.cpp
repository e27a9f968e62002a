#include "cpu/thread_governor.hpp"

#include <algorithm>

namespace pfrt::cpu {

void ThreadGovernor::after_run(bool stalled, Clock::time_point now) {
  ++runs_;
  if (current_ < threads_) ++reduced_runs_;
  // A stall counts when another came within the window (the trial's own verdict aside).
  bool repeated = false;
  if (stalled) {
    ++stalls_;
    repeated = last_stall_ != 0 && runs_ - last_stall_ <= kStallWindow;
    last_stall_ = runs_;
  }
  if (trial_) {
    trial_ = false;
    if (stalled) {  // still disturbed: back to the fewer threads, and wait longer before trying again
      current_ = std::max(1u, current_ / 2);
      backoff_ = std::min<Clock::duration>(backoff_ * 2, kLongestBackoff);
      next_trial_ = now + backoff_;
      return;
    }
    backoff_ = kFirstBackoff;  // the trial ran clean: keep the threads
    next_trial_ = now + backoff_;
    return;
  }
  if (repeated && current_ > 1) {
    current_ = std::max(1u, current_ / 2);
    next_trial_ = now + backoff_;
    return;
  }
  if (!stalled && current_ < threads_ && now >= next_trial_) {
    current_ = std::min(threads_, current_ * 2);
    trial_ = true;
  }
}

}  // namespace pfrt::cpu
