// Which runs of a CUDA session replay a captured graph. A graph is specific to the batch size
// and the prefix length (its kernels' shapes and the branches it launches), so each such key
// goes through three steps: the first run is eager (a warm-up: cuBLAS picks its kernels, lazy
// modules load), the second is captured into a graph and launched, later ones replay it. A few
// keys keep their graphs (least recently used goes first); when the session's buffers move
// (a larger batch), every graph is stale. Pure bookkeeping: the session owns the graphs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pfrt::cuda {

struct GraphKey {
  size_t batch = 0;
  uint32_t branches = 0;
  bool operator==(const GraphKey& o) const { return batch == o.batch && branches == o.branches; }
};

class GraphBook {
 public:
  enum class Step { kWarmUp, kCapture, kReplay };
  struct Decision {
    Step step;
    size_t slot;         // the key's slot: where its graph goes (kCapture) or is (kReplay)
    bool evict = false;  // kWarmUp: the slot held another key's graph; the caller destroys it
  };

  explicit GraphBook(size_t slots);

  Decision decide(const GraphKey& key);
  // The capture decided for `slot` failed: the key starts over with a warm-up.
  void capture_failed(size_t slot);
  // Every graph is stale (buffers reallocated): the caller destroys them all.
  void clear();
  size_t slots() const { return slots_.size(); }
  bool holds_graph(size_t slot) const { return slots_[slot].state == State::kCaptured; }

 private:
  enum class State { kFree, kWarmedUp, kCaptured };
  struct Slot {
    GraphKey key;
    State state = State::kFree;
    uint64_t last_use = 0;
  };
  std::vector<Slot> slots_;
  uint64_t clock_ = 0;
};

}  // namespace pfrt::cuda
