#include "streams.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "background_load.hpp"

namespace pfrt::tools {
namespace {

using clock_type = std::chrono::steady_clock;

// Starts the timed runs of every stream together. A stream that fails before it arrives
// abandons the barrier, which releases the others with false instead of leaving them waiting.
class StartBarrier {
 public:
  explicit StartBarrier(size_t count) : waiting_for_(count) {}

  bool arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_for_ == 0 && !abandoned_) {
      released_at_ = clock_type::now();
      released_ = true;
      all_arrived_.notify_all();
    }
    all_arrived_.wait(lock, [this] { return released_ || abandoned_; });
    return released_;
  }

  void abandon() {
    std::lock_guard<std::mutex> lock(mutex_);
    abandoned_ = true;
    all_arrived_.notify_all();
  }

  clock_type::time_point released_at() {
    std::lock_guard<std::mutex> lock(mutex_);
    return released_at_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  size_t waiting_for_;
  bool released_ = false, abandoned_ = false;
  clock_type::time_point released_at_{};
};

// The first failure of any stream, named after it; recording one stops the other streams.
class FirstFailure {
 public:
  FirstFailure(std::vector<Stream>& streams, StartBarrier& barrier) : streams_(streams), barrier_(barrier) {}

  // Inside a catch block of stream k.
  void record(size_t k) {
    std::exception_ptr failure;
    try {
      throw;
    } catch (const Error& e) {
      failure = std::make_exception_ptr(Error(e.status(), "stream " + std::to_string(k) + ": " + e.what()));
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_) first_ = failure;  // the others' cancelled runs come after it
    }
    stop();
    for (size_t j = 0; j < streams_.size(); ++j) {
      if (j == k) continue;
      try {
        streams_[j].session.cancel();
      } catch (...) {  // the stop flag ends that stream after its run
      }
    }
  }

  void stop() {
    stop_ = true;
    barrier_.abandon();
  }

  const std::atomic<bool>* stop_flag() const { return &stop_; }

  void rethrow() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::vector<Stream>& streams_;
  StartBarrier& barrier_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::exception_ptr first_;
};

}  // namespace

StreamsMeasurement measure_streams(std::vector<Stream>& streams, const MeasureOptions& options, Progress& progress) {
  StreamsMeasurement result;
  result.streams.resize(streams.size());
  StartBarrier barrier(streams.size());
  FirstFailure failure(streams, barrier);
  const auto run_stream = [&](size_t k) {
    Stream& s = streams[k];
    Progress quiet(false);
    Progress& shown = k == 0 ? progress : quiet;
    const std::string label = "stream 0 of " + std::to_string(streams.size());
    try {
      warm_up(s.session, s.input, s.logits, options, shown, label, failure.stop_flag());
      if (!barrier.arrive_and_wait()) return;
      result.streams[k] = time_runs(s.session, s.input, s.logits, options, shown, label, failure.stop_flag());
    } catch (...) {
      failure.record(k);
    }
  };

  BackgroundLoad load(options.background_load);
  std::vector<std::thread> threads;
  threads.reserve(streams.size());
  const auto join = [&threads]() {
    for (std::thread& t : threads) t.join();
  };
  try {
    for (size_t k = 0; k < streams.size(); ++k) threads.emplace_back(run_stream, k);
  } catch (...) {  // no thread for a stream: end those started
    failure.stop();
    join();
    throw;
  }
  join();
  load.stop();
  failure.rethrow();

  result.start = barrier.released_at();
  clock_type::time_point last_end = result.start;
  for (const Measurement& m : result.streams) last_end = std::max(last_end, m.end);
  result.wall_s = std::chrono::duration<double>(last_end - result.start).count();
  return result;
}

}  // namespace pfrt::tools
