// pfrt-bench --background-load N: busy-looping competitor processes beside the benchmark, as
// on a robot's computer that drivers, planners and a second camera pipeline share. Each is a
// fork()ed child spinning on a volatile (no syscalls). They live as long as the object: the
// destructor (also on an exception's way out) SIGKILLs and reaps them; SIGINT and SIGTERM
// kill them before the signal ends pfrt-bench; and each child gets SIGKILL when the thread
// that forked it dies (PR_SET_PDEATHSIG), so even a SIGKILLed pfrt-bench leaves none behind.
// Linux only. One load at a time per process; create it on a thread that outlives it.
#pragma once

#include <sys/types.h>

#include <vector>

namespace pfrt::tools {

class BackgroundLoad {
 public:
  // Starts `count` children (0: none). Throws std::system_error when fork fails (the
  // children started so far are stopped), std::logic_error when another load is running.
  explicit BackgroundLoad(unsigned count);
  ~BackgroundLoad();
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  // SIGKILLs and reaps every child; afterwards (and on a second call) does nothing.
  void stop() noexcept;

  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  std::vector<pid_t> pids_;
  bool running_ = false;
};

}  // namespace pfrt::tools
