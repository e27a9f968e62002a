// pfrt over NCCL — C++ API over pfrt_nccl.h (header-only; link libpfrt_nccl).
//
//   pfrt_nccl_id id = rank == 0 ? pfrt::nccl::unique_id() : pfrt_nccl_id{};
//   ... every rank receives rank 0's id ...
//   pfrt::Session s = pfrt::shard::session(model, options, pfrt::nccl::transport(id, rank, ranks));
#ifndef PFRT_PFRT_NCCL_HPP
#define PFRT_PFRT_NCCL_HPP

#include "pfrt/pfrt_nccl.h"
#include "pfrt/pfrt_shard.hpp"

namespace pfrt::nccl {

struct Options {
  int32_t cuda_device = -1;  // -1: rank mod the number of CUDA devices
  uint32_t timeout_ms = 0;   // 0: $PFRT_NCCL_TIMEOUT_MS, else 60000
};

namespace detail {
inline void check(pfrt_status status) {
  if (status != PFRT_OK) throw Error(status, pfrt_nccl_last_error());
}
}  // namespace detail

// A new communicator id (on one rank, which sends it to the others).
inline pfrt_nccl_id unique_id() {
  pfrt_nccl_id id;
  detail::check(pfrt_nccl_get_unique_id(&id));
  return id;
}

// This rank's transport of communicator `id`, for pfrt::shard::session (which takes it over).
inline pfrt_shard_transport transport(const pfrt_nccl_id& id, int32_t rank, int32_t ranks, const Options& o = {}) {
  pfrt_shard_transport t;
  detail::check(pfrt_nccl_transport_create(&id, rank, ranks, o.cuda_device, o.timeout_ms, &t));
  return t;
}

}  // namespace pfrt::nccl

#endif  // PFRT_PFRT_NCCL_HPP
