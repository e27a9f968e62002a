#include "plan/thread_plan.hpp"

#include <algorithm>

namespace pfrt::plan {

ThreadPlan plan_threads(uint32_t threads, uint32_t branches) {
  ThreadPlan plan;
  plan.threads = std::max(threads, 1u);
  plan.branches = std::max(branches, 1u);
  const uint32_t slots = std::min(plan.threads, plan.branches);
  plan.slot_threads.assign(slots, plan.threads / slots);
  for (uint32_t s = 0; s < plan.threads % slots; ++s) ++plan.slot_threads[s];
  return plan;
}

std::string ThreadPlan::describe() const {
  const uint32_t most = slot_threads.front(), least = slot_threads.back();
  std::string text = std::to_string(slots()) + (slots() == 1 ? " branch slot x " : " branch slots x ") +
                     std::to_string(most) + (most == least ? "" : "-" + std::to_string(least)) +
                     (most == 1 && least == 1 ? " thread" : " threads");
  if (branches > slots()) text += ", " + std::to_string(branches) + " branches queued in index order";
  return text;
}

}  // namespace pfrt::plan
