// The C API of sharded sessions (pfrt_shard.h): a session that runs one rank's share of the
// branches, talking to the other ranks through the caller's transport.
#include <exception>
#include <memory>

#include "api_structs.hpp"
#include "c_api_handles.hpp"
#include "pfrt/pfrt_shard.h"
#include "session/shard_exchange.hpp"

using pfrt::api::guarded;
using pfrt::api::require;

extern "C" {

pfrt_status pfrt_session_create_sharded(pfrt_model* model, const pfrt_session_options* options,
                                        const pfrt_shard_transport* transport, pfrt_session** out_session) {
  return guarded([&] {
    // The transport is ours whatever happens: released by the exchange, or here before it exists.
    std::shared_ptr<pfrt::core::ShardExchange> exchange;
    try {
      require(transport, "transport");
      exchange = std::make_shared<pfrt::core::ShardExchange>(*transport);
    } catch (...) {
      if (transport != nullptr && transport->release != nullptr) transport->release(transport->context);
      throw;
    }
    require(out_session, "out_session");
    *out_session = nullptr;
    require(model, "model");
    // This rank's session, then the check with the others: an error on any rank (this one's
    // included) is reported on every rank, none is left waiting for the others.
    std::unique_ptr<pfrt_session> session;
    std::exception_ptr local;
    try {
      session = std::make_unique<pfrt_session>(model->model, pfrt::api::session_options(options), exchange);
    } catch (...) {
      local = std::current_exception();
    }
    exchange->handshake(*model->model, local);
    *out_session = session.release();
  });
}

void pfrt_shard_profile_init(pfrt_shard_profile* profile) { pfrt::api::init_struct(profile); }

pfrt_status pfrt_session_get_shard_profile(const pfrt_session* session, pfrt_shard_profile* profile) {
  return guarded([&] {
    require(session, "session");
    require(profile, "profile");
    const uint32_t size = pfrt::api::struct_size_of(*profile, "pfrt_shard_profile");
    const pfrt::core::ShardExchange* shard = session->session.shard();
    if (shard == nullptr) {
      pfrt::core::fail(PFRT_INVALID_ARGUMENT, "the session is not sharded (pfrt_session_create_sharded makes one)");
    }
    pfrt_shard_profile out;
    pfrt_shard_profile_init(&out);
    out.rank = int32_t(shard->shard().rank);
    out.ranks = int32_t(shard->shard().ranks);
    out.branches_owned = shard->last_run().branches_owned;
    out.agree_ms = shard->last_run().agree_ms;
    out.reduce_ms = shard->last_run().reduce_ms;
    pfrt::api::write_struct(profile, out, size);
  });
}

}  // extern "C"
