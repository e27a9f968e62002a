#include "cuda/graph_book.hpp"

#include <algorithm>

namespace pfrt::cuda {

GraphBook::GraphBook(size_t slots) : slots_(std::max<size_t>(slots, 1)) {}

GraphBook::Decision GraphBook::decide(const GraphKey& key) {
  ++clock_;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.state == State::kFree || !(s.key == key)) continue;
    s.last_use = clock_;
    if (s.state == State::kCaptured) return {Step::kReplay, i};
    s.state = State::kCaptured;  // warmed up before: capture now
    return {Step::kCapture, i};
  }
  // A new key takes a free slot, else the least recently used one (destroying its graph).
  size_t victim = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].state == State::kFree) {
      victim = i;
      break;
    }
    if (slots_[i].last_use < slots_[victim].last_use) victim = i;
  }
  Slot& s = slots_[victim];
  const bool evict = s.state == State::kCaptured;
  s = Slot{key, State::kWarmedUp, clock_};
  return {Step::kWarmUp, victim, evict};
}

void GraphBook::capture_failed(size_t slot) { slots_[slot].state = State::kWarmedUp; }

void GraphBook::clear() {
  for (Slot& s : slots_) s = Slot{};
}

}  // namespace pfrt::cuda
