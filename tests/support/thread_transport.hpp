// Ranks of a sharded session as threads of one process: pfrt_shard_transports whose
// all_reduce meets the other ranks' in memory. Lets the sharding logic be tested (also under
// the sanitizers) without MPI. A rank that does not come within the timeout makes the others'
// calls fail, and every later call too (as a real transport's would, the ranks being out of step).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pfrt/pfrt_shard.h"

namespace pfrt::test {

class ThreadTransports {
 public:
  ThreadTransports(int ranks, std::chrono::milliseconds timeout);
  ThreadTransports(const ThreadTransports&) = delete;
  ThreadTransports& operator=(const ThreadTransports&) = delete;

  // Rank `rank`'s transport (name "threads"); valid while this object lives.
  pfrt_shard_transport transport(int rank);
  int released() const;  // how many transports pfrt released

 private:
  struct Rank {
    ThreadTransports* all;
    int rank;
  };
  static pfrt_status all_reduce(void* context, pfrt_shard_op op, void* data, size_t count, char* message,
                                size_t message_size);
  static void release(void* context);
  pfrt_status reduce(int rank, pfrt_shard_op op, void* data, size_t count, std::string& error);

  const int ranks_;
  const std::chrono::milliseconds timeout_;
  std::vector<Rank> contexts_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<unsigned char>> inputs_;  // each rank's values of the current round
  std::vector<unsigned char> result_;               // the last round's combination
  int arrived_ = 0;
  uint64_t round_ = 0;
  pfrt_shard_op op_ = PFRT_SHARD_SUM_F32;
  size_t count_ = 0;
  std::string broken_;
  int released_ = 0;
};

}  // namespace pfrt::test
