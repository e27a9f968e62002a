// Offsets of buffers in one arena, planned from their sizes and lifetimes: two buffers share
// space only when no step uses both. Greedy by size, largest first, each at the lowest offset
// that clears every placed buffer it is live with (as TFLite's greedy-by-size planner). Pure
// functions, tested with an overlap checker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pfrt::plan {

// Every buffer starts on a 64-byte boundary and is followed by at least 64 bytes that may be
// read (vector loads past a row's end), so sizes are rounded up to whole 16-float lines plus one.
inline constexpr size_t kAlignFloats = 16;
size_t padded_floats(size_t floats);

struct Lifetime {
  size_t floats = 0;   // size before padding
  uint32_t first = 0;  // first step that writes or reads it
  uint32_t last = 0;   // last step that reads it (>= first)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per buffer, in floats, multiples of kAlignFloats
  size_t total_floats = 0;      // the arena's size
};

MemoryPlan plan_memory(const std::vector<Lifetime>& buffers);

// Empty when no two buffers that are live at the same step overlap (padding included) and
// every offset is aligned and inside the total; else a message naming the two buffers.
std::string check_memory(const std::vector<Lifetime>& buffers, const MemoryPlan& plan);

}  // namespace pfrt::plan
