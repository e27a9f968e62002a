#include "plan/thread_plan.hpp"

#include <algorithm>

namespace pfrt::plan {

uint32_t slot_count(uint32_t threads, uint32_t branches) { return std::max(1u, std::min(threads, branches)); }

uint32_t threads_of_slot(uint32_t threads, uint32_t branches, uint32_t slot) {
  threads = std::max(threads, 1u);
  const uint32_t slots = slot_count(threads, branches);
  if (slot >= slots) return 0;
  return threads / slots + (slot < threads % slots ? 1 : 0);
}

ThreadPlan plan_threads(uint32_t threads, uint32_t branches) {
  ThreadPlan plan;
  plan.threads = std::max(threads, 1u);
  plan.branches = std::max(branches, 1u);
  for (uint32_t s = 0; s < slot_count(plan.threads, plan.branches); ++s) {
    plan.slot_threads.push_back(threads_of_slot(plan.threads, plan.branches, s));
  }
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
