#include "background_load.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pfrt::tools {
namespace {

// What the signal handler reads (async-signal-safe: lock-free atomics only): the running
// load's children. Their vector's storage is reserved before the first fork, so the pointer
// stays valid while the count grows fork by fork.
std::atomic<const pid_t*> g_pids{nullptr};
std::atomic<size_t> g_count{0};
std::atomic<bool> g_running{false};

constexpr int kSignals[] = {SIGINT, SIGTERM};
struct sigaction g_previous[2];  // the dispositions the handler replaced, restored by stop()
bool g_installed[2] = {false, false};

void kill_children_and_reraise(int signal) {
  const pid_t* pids = g_pids.load();
  const size_t count = g_count.load();
  for (size_t i = 0; i < count && pids != nullptr; ++i) ::kill(pids[i], SIGKILL);
  // The previous disposition (usually the default: terminate, so the shell sees 130 or 143).
  for (size_t i = 0; i < 2; ++i) {
    if (kSignals[i] == signal) ::sigaction(signal, &g_previous[i], nullptr);
  }
  ::raise(signal);
}

void install_handlers() {
  struct sigaction action {};
  action.sa_handler = kill_children_and_reraise;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < 2; ++i) {
    ::sigaction(kSignals[i], nullptr, &g_previous[i]);
    // A signal the process was started ignoring (a background job's SIGINT) stays ignored.
    g_installed[i] = g_previous[i].sa_handler != SIG_IGN && ::sigaction(kSignals[i], &action, nullptr) == 0;
  }
}

void restore_handlers() {
  for (size_t i = 0; i < 2; ++i) {
    if (g_installed[i]) ::sigaction(kSignals[i], &g_previous[i], nullptr);
    g_installed[i] = false;
  }
}

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kSignals) sigaddset(&set, s);
  return set;
}

// The child: default signal dispositions, death with its parent, then a tight loop.
// Only async-signal-safe calls: the parent may have had other threads when it forked.
[[noreturn]] void spin(pid_t parent, const sigset_t& unblock) {
  for (int s : kSignals) ::signal(s, SIG_DFL);
  ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);  // the parent died before prctl took effect
  volatile unsigned long counter = 0;
  for (;;) counter = counter + 1;
}

}  // namespace

BackgroundLoad::BackgroundLoad(unsigned count) {
  if (count == 0) return;
  if (g_running.exchange(true)) throw std::logic_error("a background load is already running in this process");
  running_ = true;
  pids_.reserve(count);
  g_pids.store(pids_.data());
  install_handlers();
  const pid_t parent = ::getpid();
  const sigset_t signals = handled_signals();
  for (unsigned i = 0; i < count; ++i) {
    // Blocked across fork: the child must not run the parent's handler, and the parent
    // publishes the pid before a signal can look for it.
    sigset_t previous;
    ::pthread_sigmask(SIG_BLOCK, &signals, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) spin(parent, signals);
    const int fork_errno = errno;
    if (pid > 0) {
      pids_.push_back(pid);
      g_count.store(pids_.size());
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) {
      stop();
      throw std::system_error(fork_errno, std::generic_category(),
                              "--background-load: cannot start busy-loop process " + std::to_string(i + 1) + " of " +
                                  std::to_string(count));
    }
  }
}

BackgroundLoad::~BackgroundLoad() { stop(); }

void BackgroundLoad::stop() noexcept {
  if (!running_) return;
  for (pid_t pid : pids_) ::kill(pid, SIGKILL);
  // Unpublished before reaping: a reaped child's pid may be reused by another process.
  g_count.store(0);
  g_pids.store(nullptr);
  restore_handlers();
  for (pid_t pid : pids_) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pids_.clear();
  running_ = false;
  g_running.store(false);
}

}  // namespace pfrt::tools
