// The branch assignment of sharded sessions (plan/shard_plan.hpp): round-robin, every prefix
// spread evenly, a rank's finished prefix, and the plan's slots for a rank's own branches.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "plan/execution_plan.hpp"
#include "plan/shard_plan.hpp"
#include "support/test_models.hpp"

using pfrt::plan::Shard;

TEST_CASE("shard plan: every branch has one owner and every prefix is spread evenly over the ranks") {
  for (uint32_t ranks = 1; ranks <= 5; ++ranks) {
    for (uint32_t k = 0; k <= 13; ++k) {
      uint32_t total = 0, least = k, most = 0;
      for (uint32_t r = 0; r < ranks; ++r) {
        const Shard s{r, ranks};
        uint32_t counted = 0;
        for (uint32_t b = 0; b < k; ++b) counted += s.owns(b) ? 1 : 0;
        CHECK(s.owned_below(k) == counted);
        for (uint32_t i = 0; i < counted; ++i) {
          CHECK(s.owns(s.branch(i)));
          CHECK(s.branch(i) < k);
          if (i > 0) CHECK(s.branch(i) > s.branch(i - 1));
        }
        total += counted;
        least = std::min(least, counted);
        most = std::max(most, counted);
      }
      CHECK(total == k);
      CHECK(most - least <= 1);
    }
  }
}

TEST_CASE("shard plan: the run's finished prefix is the least over the ranks of what each finished") {
  // 7 branches on 3 ranks: rank 0 owns 0,3,6; rank 1 owns 1,4; rank 2 owns 2,5.
  const uint32_t asked = 7;
  const auto prefix = [&](std::vector<uint32_t> done) {
    uint32_t k = asked;
    for (uint32_t r = 0; r < 3; ++r) k = std::min(k, Shard{r, 3}.finished_prefix(done[r], asked));
    return k;
  };
  CHECK(prefix({3, 2, 2}) == 7);                  // everything
  CHECK(prefix({0, 2, 2}) == 0);                  // branch 0 unfinished
  CHECK(prefix({1, 0, 2}) == 1);                  // branch 1 unfinished
  CHECK(prefix({2, 2, 1}) == 5);                  // branch 5 unfinished
  CHECK(prefix({2, 2, 2}) == 6);                  // branch 6 unfinished
  CHECK(Shard{2, 3}.finished_prefix(0, 2) == 2);  // owns nothing below 2: holds nothing back
  CHECK(Shard{0, 1}.finished_prefix(4, 7) == 4);  // one rank: the plain finished prefix
}

TEST_CASE("shard plan: a rank's plan has slots for the branches it owns, and says which it runs") {
  pfrt::format::ModelConfig c = pfrt::test::tiny_config();
  c.branches = 5;
  pfrt::plan::PlanOptions o;
  o.threads = 4;
  const pfrt::plan::ExecutionPlan whole(c, o);
  CHECK(whole.slots() == 4);
  o.shard = Shard{2, 3};  // owns branches 2 only
  const pfrt::plan::ExecutionPlan one(c, o);
  CHECK(one.slots() == 1);
  CHECK(one.threads().slot_threads.front() == 4);
  CHECK(one.describe().find("rank 2 of 3") != std::string::npos);
  o.shard = Shard{0, 2};  // owns 0, 2, 4
  CHECK(pfrt::plan::ExecutionPlan(c, o).slots() == 3);
}
