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

core::RunStatus settle(const core::RunControl& control, core::StopReason stopped, uint32_t prefix,
                       const core::RunRequest& request) {
  if (control.shard != nullptr) return control.shard->agree(stopped, prefix, request, control.best_prefix_on_deadline);
  return settle(stopped, prefix, request.branches, control.best_prefix_on_deadline);
}

}  // namespace pfrt::plan
