// Which branches a shard runs: one rank of R processes (or devices) that share one inference,
// each running the stem and its own branches, their merged partial sums added over the ranks
// before the head (PARAFORMER.md: the merge is a sum and pooling is linear, so a rank only has
// to contribute the pooled vector of its branches, D floats per image).
//
// Branches are dealt round-robin: rank r owns the branches b with b mod R = r. Every prefix
// 1..k is then spread as evenly as it can be (the ranks' counts differ by at most one), so a
// prefix or a deadline answer costs about k/R branches on every rank; blocks of consecutive
// branches would leave a short prefix to the first ranks. Each rank runs its branches in index
// order, so what it finished is a prefix of what it owns.
//
// Pure functions, unit-tested; one rank (R = 1) owns every branch, which is the unsharded plan.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pfrt::plan {

struct Shard {
  uint32_t rank = 0;   // r
  uint32_t ranks = 1;  // R

  bool owns(uint32_t branch) const { return branch % ranks == rank; }
  // The i-th branch this rank owns (i = 0, 1, ...), in index order.
  uint32_t branch(uint32_t i) const { return rank + i * ranks; }
  // How many of the branches 0..k-1 this rank owns.
  uint32_t owned_below(uint32_t k) const { return k > rank ? (k - rank + ranks - 1) / ranks : 0; }
  // The longest prefix 1..k of branches 0..asked-1 this rank does not hold back when it
  // finished its first `done` owned branches: asked, or its first unfinished branch.
  uint32_t finished_prefix(uint32_t done, uint32_t asked) const { return std::min(asked, branch(done)); }
  // The run's finished prefix is the least of the ranks' finished_prefix: every branch below it
  // finished on the rank that owns it.
};

}  // namespace pfrt::plan
