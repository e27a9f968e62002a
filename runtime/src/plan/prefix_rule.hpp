// Which logits a run answers with. Every backend launches branches in index order and records
// which finished; this rule, and only this one, turns that into the answer: the full prefix
// when nothing stopped the run, the longest finished prefix 1..k when a deadline stopped it in
// best-prefix mode, and no logits otherwise.
#pragma once

#include <cstdint>

#include "backend/backend.hpp"

namespace pfrt::plan {

// The length k of the longest prefix 1..k of branches 0..asked-1 with finished(b) true for
// every b < k.
template <class Finished>
uint32_t finished_prefix(uint32_t asked, Finished&& finished) {
  uint32_t k = 0;
  while (k < asked && finished(k)) ++k;
  return k;
}

// The answer of a run asked for `asked` branches that stopped for `stopped` (kNone: it ran to
// the end, every branch finished) with the prefix 1..`prefix` finished. branches_used is the
// prefix whose merged outputs make the logits, 0 when the run answers with none (cancelled,
// deadline in fail mode, or a deadline before any branch finished).
core::RunStatus settle(core::StopReason stopped, uint32_t prefix, uint32_t asked, bool best_prefix_on_deadline);

// The same for a run under `control`: alone, or agreed with the other ranks of a sharded
// session (control.shard), `prefix` then being what this rank finished of its own branches.
core::RunStatus settle(const core::RunControl& control, core::StopReason stopped, uint32_t prefix,
                       const core::RunRequest& request);

}  // namespace pfrt::plan
