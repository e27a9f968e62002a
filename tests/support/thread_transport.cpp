#include "support/thread_transport.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace pfrt::test {

ThreadTransports::ThreadTransports(int ranks, std::chrono::milliseconds timeout)
    : ranks_(ranks), timeout_(timeout), inputs_(size_t(ranks)) {
  for (int r = 0; r < ranks; ++r) contexts_.push_back(Rank{this, r});
}

pfrt_shard_transport ThreadTransports::transport(int rank) {
  pfrt_shard_transport t{};
  t.struct_size = sizeof t;
  t.rank = rank;
  t.ranks = ranks_;
  t.context = &contexts_[size_t(rank)];
  t.all_reduce = &ThreadTransports::all_reduce;
  t.release = &ThreadTransports::release;
  t.name = "threads";
  return t;
}

int ThreadTransports::released() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return released_;
}

void ThreadTransports::release(void* context) {
  Rank* r = static_cast<Rank*>(context);
  const std::lock_guard<std::mutex> lock(r->all->mutex_);
  ++r->all->released_;
}

pfrt_status ThreadTransports::all_reduce(void* context, pfrt_shard_op op, void* data, size_t count, char* message,
                                         size_t message_size) {
  Rank* r = static_cast<Rank*>(context);
  std::string error;
  const pfrt_status status = r->all->reduce(r->rank, op, data, count, error);
  if (status != PFRT_OK) std::snprintf(message, message_size, "%s", error.c_str());
  return status;
}

pfrt_status ThreadTransports::reduce(int rank, pfrt_shard_op op, void* data, size_t count, std::string& error) {
  const size_t bytes = count * (op == PFRT_SHARD_SUM_F32 ? sizeof(float) : sizeof(uint64_t));
  std::unique_lock<std::mutex> lock(mutex_);
  if (!broken_.empty()) {
    error = broken_;
    return PFRT_BACKEND_ERROR;
  }
  if (arrived_ == 0) {
    op_ = op;
    count_ = count;
  } else if (op != op_ || count != count_) {
    broken_ = "the ranks called all_reduce with different operations or counts";
    changed_.notify_all();
    error = broken_;
    return PFRT_BACKEND_ERROR;
  }
  const auto* in = static_cast<const unsigned char*>(data);
  inputs_[size_t(rank)].assign(in, in + bytes);
  const uint64_t round = round_;
  if (++arrived_ == ranks_) {  // the last to come combines
    result_ = inputs_[0];
    for (int k = 1; k < ranks_; ++k) {
      for (size_t i = 0; i < count; ++i) {
        if (op == PFRT_SHARD_SUM_F32) {
          float a, b;
          std::memcpy(&a, &result_[i * 4], 4);
          std::memcpy(&b, &inputs_[size_t(k)][i * 4], 4);
          a += b;
          std::memcpy(&result_[i * 4], &a, 4);
        } else {
          uint64_t a, b;
          std::memcpy(&a, &result_[i * 8], 8);
          std::memcpy(&b, &inputs_[size_t(k)][i * 8], 8);
          a = std::min(a, b);
          std::memcpy(&result_[i * 8], &a, 8);
        }
      }
    }
    arrived_ = 0;
    ++round_;
    changed_.notify_all();
  } else if (!changed_.wait_for(lock, timeout_, [&] { return round_ != round || !broken_.empty(); })) {
    broken_ = "no answer from the other ranks within " + std::to_string(timeout_.count()) + " ms";
    changed_.notify_all();
  }
  if (round_ == round) {
    error = broken_;
    return PFRT_BACKEND_ERROR;
  }
  std::memcpy(data, result_.data(), bytes);
  return PFRT_OK;
}

}  // namespace pfrt::test
