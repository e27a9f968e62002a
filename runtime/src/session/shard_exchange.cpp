#include "session/shard_exchange.hpp"

#include <cstring>

#include "error.hpp"
#include "plan/prefix_rule.hpp"

namespace pfrt::core {

namespace {

// Changes when the exchanges' content changes: ranks of different pfrt builds must not mix.
constexpr uint64_t kProtocol = 1;

// Values the ranks agree on, each sent as (v, ~v) in a MIN all-reduce: after it, least(i) and
// most(i) are the least and greatest v over the ranks.
class Agreement {
 public:
  explicit Agreement(std::vector<uint64_t>& values) : values_(values) { values_.clear(); }
  void add(uint64_t v) {
    values_.push_back(v);
    values_.push_back(~v);
  }
  uint64_t least(size_t i) const { return values_[2 * i]; }
  uint64_t most(size_t i) const { return ~values_[2 * i + 1]; }
  bool equal(size_t i) const { return least(i) == most(i); }

 private:
  std::vector<uint64_t>& values_;
};

// FNV-1a over 8-byte words (the tail byte by byte): tells two model files apart.
uint64_t hash_bytes(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    h = (h ^ word) * kPrime;
  }
  for (; i < size; ++i) h = (h ^ data[i]) * kPrime;
  return h;
}

// A sample of the input (up to 64 floats spread over it): catches ranks given different images
// at no cost worth measuring.
uint64_t hash_input(const float* input, size_t floats) {
  constexpr size_t kSamples = 64;
  uint64_t h = 1469598103934665603ull;
  const size_t step = floats > kSamples ? floats / kSamples : 1;
  for (size_t i = 0; i < floats; i += step) {
    uint32_t bits;
    std::memcpy(&bits, input + i, 4);
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

// The stop reasons in the order a run's answer takes them over the ranks: any rank cancelled
// cancels the run, else any rank stopped by the deadline makes it a deadline answer.
uint64_t stop_rank(StopReason why) { return why == StopReason::kCancelled ? 2 : why == StopReason::kDeadline ? 1 : 0; }
StopReason stop_of(uint64_t rank) {
  return rank == 2 ? StopReason::kCancelled : rank == 1 ? StopReason::kDeadline : StopReason::kNone;
}

}  // namespace

ShardExchange::ShardExchange(const pfrt_shard_transport& transport) {
  if (transport.struct_size < sizeof(pfrt_shard_transport)) {
    fail(PFRT_INVALID_ARGUMENT, "pfrt_shard_transport.struct_size is " + std::to_string(transport.struct_size) +
                                    ", expected " + std::to_string(sizeof(pfrt_shard_transport)));
  }
  if (transport.all_reduce == nullptr) fail(PFRT_INVALID_ARGUMENT, "pfrt_shard_transport.all_reduce must not be null");
  if (transport.ranks < 1 || transport.rank < 0 || transport.rank >= transport.ranks) {
    fail(PFRT_INVALID_ARGUMENT, "pfrt_shard_transport: rank " + std::to_string(transport.rank) + " of " +
                                    std::to_string(transport.ranks) + " ranks (rank must be 0 .. ranks-1)");
  }
  transport_ = transport;
  name_ = transport.name != nullptr ? transport.name : "a transport";
  values_.reserve(16);
}

ShardExchange::~ShardExchange() {
  if (transport_.release != nullptr) transport_.release(transport_.context);
}

std::string ShardExchange::describe() const {
  return "sharded over " + name_ + ": rank " + std::to_string(transport_.rank) + " of " +
         std::to_string(transport_.ranks);
}

void ShardExchange::fail_here(pfrt_status status, const std::string& message) const {
  fail(status, "rank " + std::to_string(transport_.rank) + " of " + std::to_string(transport_.ranks) + ": " + message);
}

void ShardExchange::all_reduce(pfrt_shard_op op, void* data, size_t count) {
  if (!broken_.empty()) {
    fail_here(PFRT_BACKEND_ERROR, "the ranks are out of step since an earlier failure (" + broken_ +
                                      "): destroy this session and create a new one on every rank");
  }
  char message[512] = "";
  const pfrt_status status = transport_.all_reduce(transport_.context, op, data, count, message, sizeof message);
  if (status == PFRT_OK) return;
  message[sizeof message - 1] = '\0';
  broken_ = message[0] != '\0' ? message : pfrt_status_string(status);
  fail_here(status, name_ + ": " + broken_);
}

void ShardExchange::handshake(const Model& model, std::exception_ptr local) {
  const format::ModelConfig& c = model.config();
  Agreement a(values_);
  a.add(local ? 1 : 0);
  a.add(uint64_t(transport_.ranks));
  a.add(kProtocol);
  a.add(hash_bytes(model.bytes().data(), model.bytes().size()));
  all_reduce(PFRT_SHARD_MIN_U64, values_.data(), values_.size());
  if (!a.equal(1)) {
    fail_here(PFRT_INVALID_ARGUMENT, "the ranks disagree on their number (" + std::to_string(a.least(1)) + " to " +
                                         std::to_string(a.most(1)) + "): the transport is misconfigured");
  }
  if (!a.equal(2)) fail_here(PFRT_UNSUPPORTED, "the ranks run different versions of pfrt");
  if (!a.equal(3)) {
    fail_here(PFRT_INVALID_ARGUMENT, "the ranks opened different model files (this rank: " + model.origin() + ", " +
                                         std::to_string(model.file_size()) +
                                         " bytes): every rank must open the same file");
  }
  if (local) std::rethrow_exception(local);
  if (a.most(0) != 0) {
    fail_here(PFRT_BACKEND_ERROR, "another rank could not create its session (its own message says why)");
  }
  image_floats_ = c.image_floats();
}

RunStatus ShardExchange::agree(StopReason stopped, uint32_t prefix, const RunRequest& r, bool best_prefix) {
  const Clock::time_point start = Clock::now();
  Agreement a(values_);
  a.add(runs_++);
  a.add(r.batch);
  a.add(r.branches);
  a.add(best_prefix ? 1 : 0);
  a.add(hash_input(r.input, r.batch * image_floats_));
  a.add(prefix);
  a.add(stop_rank(stopped));
  all_reduce(PFRT_SHARD_MIN_U64, values_.data(), values_.size());
  times_.agree_ms += elapsed_ms(start, Clock::now());
  const auto range = [&](size_t i) { return std::to_string(a.least(i)) + " to " + std::to_string(a.most(i)); };
  if (!a.equal(0)) {
    broken_ = "the ranks were at different runs";
    fail_here(PFRT_INVALID_ARGUMENT, "the ranks are at different runs (" + range(0) +
                                         "): every rank must make the same runs in the same order");
  }
  if (!a.equal(1)) fail_here(PFRT_INVALID_ARGUMENT, "the ranks ran different batch sizes (" + range(1) + " images)");
  if (!a.equal(2))
    fail_here(PFRT_INVALID_ARGUMENT, "the ranks asked for different prefixes (" + range(2) + " branches)");
  if (!a.equal(3)) fail_here(PFRT_INVALID_ARGUMENT, "the ranks ran with different deadline modes");
  if (!a.equal(4)) fail_here(PFRT_INVALID_ARGUMENT, "the ranks were given different input images");
  // The least finished prefix: every branch below it finished on the rank that owns it.
  return plan::settle(stop_of(a.most(6)), uint32_t(a.least(5)), r.branches, best_prefix);
}

void ShardExchange::reduce(float* data, size_t floats) {
  const Clock::time_point start = Clock::now();
  all_reduce(PFRT_SHARD_SUM_F32, data, floats);
  times_.reduce_ms += elapsed_ms(start, Clock::now());
}

}  // namespace pfrt::core
