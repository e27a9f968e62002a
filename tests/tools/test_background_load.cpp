// pfrt-bench --background-load: the children exist and spin while the load lives, and are
// gone (reaped) after it, whether it ends by scope, by an exception, by SIGTERM or by a
// SIGKILL of the process that started them.
#include <doctest/doctest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "background_load.hpp"

using namespace pfrt::tools;

namespace {

struct ProcStat {
  char state = 0;  // 'R' running, 'Z' zombie, ...; 0: no such process
  pid_t parent = 0;
};

ProcStat proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return {};
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
  ProcStat s;
  fields >> s.state >> s.parent;
  return s;
}

// No longer our child: reaped (waitpid knows it no more) and not in /proc under us.
bool reaped(pid_t pid) {
  errno = 0;
  return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD && proc_stat(pid).parent != ::getpid();
}

// While it lives, the orphans of this process's children become its own (a subreaper), so
// that the test can wait for them, reap them, and leave no zombie behind.
// qemu-user (the cross builds' test runner) does not implement PR_SET_CHILD_SUBREAPER: there
// the orphans cannot be watched, and the tests that need it say so and stop.
struct AdoptOrphans {
  AdoptOrphans() : works(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) {}
  ~AdoptOrphans() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  const bool works;
};

// Whether an adopted orphan ends within the limit (reaped here); one still alive is killed.
bool ends_within(pid_t pid, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

// A helper process that starts a load of `count`, sends its pids through a pipe and waits;
// `signal` then ends it. Returns its wait status and fills `pids`.
int signalled_helper(unsigned count, int signal, std::vector<pid_t>& pids) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t helper = ::fork();
  REQUIRE(helper >= 0);
  if (helper == 0) {
    ::close(fds[0]);
    for (int s : {SIGINT, SIGTERM}) ::signal(s, SIG_DFL);  // as in pfrt-bench, not doctest's crash report
    try {
      BackgroundLoad load(count);
      const auto bytes = ssize_t(sizeof(pid_t) * load.pids().size());
      if (::write(fds[1], load.pids().data(), size_t(bytes)) != bytes) ::_exit(3);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(4);
    }
  }
  ::close(fds[1]);
  pids.assign(count, 0);
  const auto want = ssize_t(sizeof(pid_t) * count);
  CHECK(::read(fds[0], pids.data(), size_t(want)) == want);
  ::close(fds[0]);
  REQUIRE(::kill(helper, signal) == 0);
  int status = 0;
  REQUIRE(::waitpid(helper, &status, 0) == helper);
  return status;
}

}  // namespace

TEST_CASE("background load: N spinning children while it lives, reaped after") {
  std::vector<pid_t> pids;
  {
    BackgroundLoad load(2);
    pids = load.pids();
    REQUIRE(pids.size() == 2);
    CHECK(pids[0] != pids[1]);
    for (pid_t pid : pids) {
      const ProcStat s = proc_stat(pid);
      CHECK(s.parent == ::getpid());
      CHECK(s.state == 'R');  // a busy loop never sleeps
    }
  }
  for (pid_t pid : pids) CHECK(reaped(pid));
}

TEST_CASE("background load: 0 starts none; stop() ends it early and twice is harmless") {
  BackgroundLoad none(0);
  CHECK(none.pids().empty());
  BackgroundLoad load(1);
  const pid_t pid = load.pids().at(0);
  load.stop();
  CHECK(reaped(pid));
  CHECK(load.pids().empty());
  load.stop();
}

TEST_CASE("background load: one at a time") {
  BackgroundLoad first(1);
  CHECK_THROWS_AS(BackgroundLoad(1), std::logic_error);
  first.stop();
  BackgroundLoad second(1);
  CHECK(second.pids().size() == 1);
}

TEST_CASE("background load: an exception unwinding past it kills its children") {
  std::vector<pid_t> pids;
  const auto failing_benchmark = [&pids]() {
    BackgroundLoad load(2);
    pids = load.pids();
    throw std::runtime_error("a run failed");
  };
  CHECK_THROWS_AS(failing_benchmark(), std::runtime_error);
  REQUIRE(pids.size() == 2);
  for (pid_t pid : pids) CHECK(reaped(pid));
}

TEST_CASE("background load: SIGTERM kills the children, then the process by the signal") {
  const AdoptOrphans adopt;
  if (!adopt.works) {
    MESSAGE("skipped: this system cannot make the test a subreaper (qemu-user?), so it cannot watch orphans");
    return;
  }
  std::vector<pid_t> pids;
  const int status = signalled_helper(2, SIGTERM, pids);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  for (pid_t pid : pids) CHECK(ends_within(pid, std::chrono::seconds(5)));
}

TEST_CASE("background load: the children die with a SIGKILLed parent (PR_SET_PDEATHSIG)") {
  const AdoptOrphans adopt;
  if (!adopt.works) {
    MESSAGE("skipped: this system cannot make the test a subreaper (qemu-user?), so it cannot watch orphans");
    return;
  }
  std::vector<pid_t> pids;
  CHECK(WIFSIGNALED(signalled_helper(2, SIGKILL, pids)));
  for (pid_t pid : pids) CHECK(ends_within(pid, std::chrono::seconds(5)));
}
