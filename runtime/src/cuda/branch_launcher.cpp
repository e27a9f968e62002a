#include "cuda/branch_launcher.hpp"

#include "plan/prefix_rule.hpp"

namespace pfrt::cuda {

LaunchOutcome launch_branches(BranchQueue& queue, uint32_t branches, uint32_t streams,
                              const core::RunControl& control) {
  LaunchOutcome out;
  const auto finished = [&](uint32_t b) { return queue.finished(b); };
  for (;;) {
    if ((out.stopped = control.check()) != core::StopReason::kNone) break;
    if (out.launched == branches) {
      out.prefix = plan::finished_prefix(branches, finished);
      if (out.prefix == branches) return out;
      queue.pause();
      continue;
    }
    const uint32_t b = out.launched;
    if (b >= streams && !queue.finished(b - streams)) {  // its stream still runs the one before
      queue.pause();
      continue;
    }
    control.branch_started(queue.branch(b));
    if ((out.stopped = control.check()) != core::StopReason::kNone) break;
    queue.launch(b);
    ++out.launched;
  }
  out.prefix = plan::finished_prefix(out.launched, finished);
  return out;
}

}  // namespace pfrt::cuda
