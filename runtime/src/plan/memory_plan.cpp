#include "plan/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace pfrt::plan {

size_t padded_floats(size_t floats) { return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats + kAlignFloats; }

namespace {

bool live_together(const Lifetime& a, const Lifetime& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

MemoryPlan plan_memory(const std::vector<Lifetime>& buffers) {
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Largest first; ties by first use, then index, so the plan is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].floats != buffers[b].floats) return buffers[a].floats > buffers[b].floats;
    return buffers[a].first < buffers[b].first;
  });
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> placed;                    // indices, in placement order
  std::vector<std::pair<size_t, size_t>> taken;  // [begin, end) of placed buffers live with the current one
  for (size_t i : order) {
    const size_t size = padded_floats(buffers[i].floats);
    taken.clear();
    for (size_t j : placed) {
      if (live_together(buffers[i], buffers[j])) {
        taken.emplace_back(plan.offsets[j], plan.offsets[j] + padded_floats(buffers[j].floats));
      }
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + size <= begin) break;  // fits in the gap before this one
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.total_floats = std::max(plan.total_floats, offset + size);
    placed.push_back(i);
  }
  return plan;
}

std::string check_memory(const std::vector<Lifetime>& buffers, const MemoryPlan& plan) {
  if (plan.offsets.size() != buffers.size()) return "the plan has a different number of buffers";
  for (size_t i = 0; i < buffers.size(); ++i) {
    const size_t begin = plan.offsets[i], end = begin + padded_floats(buffers[i].floats);
    if (begin % kAlignFloats != 0) return "buffer " + std::to_string(i) + " is not 64-byte aligned";
    if (end > plan.total_floats) return "buffer " + std::to_string(i) + " ends past the arena";
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      if (!live_together(buffers[i], buffers[j])) continue;
      const size_t other_begin = plan.offsets[j], other_end = other_begin + padded_floats(buffers[j].floats);
      if (begin < other_end && other_begin < end) {
        return "buffers " + std::to_string(i) + " and " + std::to_string(j) + " are live together and overlap";
      }
    }
  }
  return {};
}

}  // namespace pfrt::plan
