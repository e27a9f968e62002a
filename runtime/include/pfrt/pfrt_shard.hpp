// pfrt: sharded sessions — C++ API over pfrt_shard.h (header-only, like pfrt.hpp).
//
//   pfrt::Session s = pfrt::shard::session(model, options, transport);  // on every rank
//   s.run(input);                                                       // same logits everywhere
//   pfrt::shard::Profile p = pfrt::shard::profile(s);                   // p.reduce_ms, ...
#ifndef PFRT_PFRT_SHARD_HPP
#define PFRT_PFRT_SHARD_HPP

#include "pfrt/pfrt.hpp"
#include "pfrt/pfrt_shard.h"

namespace pfrt::shard {

using Profile = pfrt_shard_profile;

// This rank's session over `transport` (pfrt takes it over). Throws Error on every rank when
// one rank fails.
inline Session session(const Model& model, const SessionOptions& options, const pfrt_shard_transport& transport) {
  const pfrt_session_options o = detail::c_options(options);
  pfrt_session* s = nullptr;
  detail::check(pfrt_session_create_sharded(model.get(), &o, &transport, &s));
  return Session::adopt(model, s);
}

// The last run's exchange times on this rank; throws Error for a session that is not sharded.
inline Profile profile(const Session& session) {
  Profile p;
  pfrt_shard_profile_init(&p);
  detail::check(pfrt_session_get_shard_profile(session.get(), &p));
  return p;
}

// Whether `session` is sharded.
inline bool sharded(const Session& session) {
  Profile p;
  pfrt_shard_profile_init(&p);
  return pfrt_session_get_shard_profile(session.get(), &p) == PFRT_OK;
}

}  // namespace pfrt::shard

#endif  // PFRT_PFRT_SHARD_HPP
