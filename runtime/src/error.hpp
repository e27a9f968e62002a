// Errors inside the runtime are exceptions carrying the public status code; the C API turns
// them into a pfrt_status and the thread's last-error message. Nothing else escapes.
#pragma once

#include <stdexcept>
#include <string>

#include "pfrt/pfrt.h"

namespace pfrt::core {

class Error : public std::runtime_error {
 public:
  Error(pfrt_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  pfrt_status status() const { return status_; }

 private:
  pfrt_status status_;
};

[[noreturn]] inline void fail(pfrt_status status, const std::string& message) { throw Error(status, message); }

}  // namespace pfrt::core
