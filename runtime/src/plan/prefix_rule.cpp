#include "plan/prefix_rule.hpp"

namespace pfrt::plan {

core::RunStatus settle(core::StopReason stopped, uint32_t prefix, uint32_t asked, bool best_prefix_on_deadline) {
  core::RunStatus status;
  status.stopped = stopped;
  if (stopped == core::StopReason::kNone) {
    status.branches_used = asked;
  } else if (stopped == core::StopReason::kDeadline && best_prefix_on_deadline) {
    status.branches_used = prefix < asked ? prefix : asked;
  }
  return status;
}

}  // namespace pfrt::plan
