// A sharded session's exchange with the other ranks, over the application's transport
// (pfrt_shard.h): the check at creation that every rank opened the same model and could make
// its session, and at every run the agreement on the answer (core::ShardLink) and the sum of
// the merged partial sums.
//
// Every exchange is one all-reduce that every rank makes, so a failure on one rank becomes a
// message on every rank rather than a rank left waiting. Checks of equality ride on a MIN
// reduction: each value v goes with its complement ~v, so the least of ~v gives the greatest v,
// and the ranks agree when least and greatest are equal.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "pfrt/pfrt_shard.h"

namespace pfrt::core {

// What a sharded session's last run cost on this rank (pfrt_shard_profile).
struct ShardTimes {
  uint32_t branches_owned = 0;
  double agree_ms = 0.0;
  double reduce_ms = 0.0;
};

class ShardExchange final : public ShardLink {
 public:
  // Takes over the transport (releases it on destruction); throws Error when it is malformed.
  explicit ShardExchange(const pfrt_shard_transport& transport);
  ~ShardExchange() override;
  ShardExchange(const ShardExchange&) = delete;
  ShardExchange& operator=(const ShardExchange&) = delete;

  plan::Shard shard() const { return plan::Shard{uint32_t(transport_.rank), uint32_t(transport_.ranks)}; }
  // "sharded over mpi: rank 0 of 2"
  std::string describe() const;

  // Creation: every rank says whether it made its session (`local`: why not) and which model
  // it opened; throws this rank's error, or the reason another rank failed, on every rank.
  void handshake(const Model& model, std::exception_ptr local);

  RunStatus agree(StopReason stopped, uint32_t prefix, const RunRequest& request, bool best_prefix) override;
  void reduce(float* data, size_t floats) override;

  // Called at the start of every run (times of the last run).
  void start_run(uint32_t branches_owned) { times_ = ShardTimes{branches_owned, 0.0, 0.0}; }
  const ShardTimes& last_run() const { return times_; }

 private:
  // One all-reduce; throws Error naming this rank when the transport fails (the session is
  // then unusable: the ranks may no longer be in step).
  void all_reduce(pfrt_shard_op op, void* data, size_t count);
  [[noreturn]] void fail_here(pfrt_status status, const std::string& message) const;

  pfrt_shard_transport transport_;
  std::string name_;
  std::string broken_;  // why the transport failed, once it has
  uint64_t runs_ = 0;
  uint64_t image_floats_ = 0;
  ShardTimes times_;
  std::vector<uint64_t> values_;  // the agreement's values (no allocation per run)
};

}  // namespace pfrt::core
