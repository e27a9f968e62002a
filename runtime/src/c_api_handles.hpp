// What the C API's opaque handles hold, and the helpers every C entry point uses.
#pragma once

#include <memory>
#include <new>
#include <string>

#include "error.hpp"
#include "model/model.hpp"
#include "pfrt/pfrt.h"
#include "session/session.hpp"

struct pfrt_model {
  std::shared_ptr<const pfrt::core::Model> model;
};

struct pfrt_session {
  pfrt_session(std::shared_ptr<const pfrt::core::Model> model, const pfrt::core::SessionOptions& options,
               std::shared_ptr<pfrt::core::ShardExchange> shard = nullptr)
      : session(std::move(model), options, std::move(shard)), description(session.describe()) {}
  pfrt::core::Session session;
  std::string description;
};

namespace pfrt::api {

// This thread's last-error message (pfrt_last_error).
std::string& last_error();

// Runs `body`, turning any exception into a status and this thread's last-error message.
template <typename F>
pfrt_status guarded(F&& body) {
  std::string& message = last_error();
  try {
    message.clear();
    body();
    return PFRT_OK;
  } catch (const core::Error& e) {
    message = e.what();
    return e.status();
  } catch (const std::bad_alloc&) {
    message = "out of memory";
    return PFRT_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    message = std::string("internal error: ") + e.what();
    return PFRT_INTERNAL_ERROR;
  } catch (...) {
    message = "internal error: unknown exception";
    return PFRT_INTERNAL_ERROR;
  }
}

inline void require(const void* pointer, const char* what) {
  if (pointer == nullptr) core::fail(PFRT_INVALID_ARGUMENT, std::string(what) + " must not be null");
}

// The session options a caller gave (NULL: the defaults), checked against their struct_size.
core::SessionOptions session_options(const pfrt_session_options* options);

// The model's description, as this version of pfrt_model_info holds it.
pfrt_model_info model_info(const pfrt_model& model);

}  // namespace pfrt::api
