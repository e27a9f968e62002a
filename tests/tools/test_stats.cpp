// Latency statistics against known samples and a naive computation on random ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "stats.hpp"

using namespace pfrt::tools;

TEST_CASE("stats: percentiles of known samples") {
  std::vector<double> s;
  for (int i = 1; i <= 101; ++i) s.push_back(i);  // 1..101
  CHECK(percentile(s, 0.50) == 51.0);
  CHECK(percentile(s, 0.90) == 91.0);
  CHECK(percentile(s, 0.99) == 100.0);
  CHECK(percentile(s, 0.0) == 1.0);
  CHECK(percentile(s, 1.0) == 101.0);
  // Between two ranks: {10, 20, 30, 40} at q = 0.5 -> position 1.5 -> 25.
  CHECK(percentile({10, 20, 30, 40}, 0.5) == doctest::Approx(25.0));
  CHECK(percentile({10, 20, 30, 40}, 0.9) == doctest::Approx(37.0));  // position 2.7
  CHECK(percentile({}, 0.5) == 0.0);
  CHECK(percentile({7}, 0.99) == 7.0);
}

TEST_CASE("stats: summary against a naive computation on random samples of odd sizes") {
  std::mt19937 rng(3);
  std::lognormal_distribution<double> dist(0.0, 0.5);
  for (size_t n : {1u, 3u, 17u, 101u, 999u}) {
    std::vector<double> s(n);
    for (double& x : s) x = dist(rng);
    const LatencyStats st = summarize(s);
    long double sum = 0;
    for (double x : s) sum += x;
    const double mean = double(sum / n);
    long double sq = 0;
    for (double x : s) sq += (x - mean) * (x - mean);
    std::vector<double> sorted = s;
    std::sort(sorted.begin(), sorted.end());
    CHECK(st.count == n);
    CHECK(st.mean == doctest::Approx(mean).epsilon(1e-12));
    CHECK(st.stdev == doctest::Approx(n > 1 ? std::sqrt(double(sq / (n - 1))) : 0.0).epsilon(1e-12));
    CHECK(st.min == sorted.front());
    CHECK(st.max == sorted.back());
    CHECK(st.p50 == sorted[(n - 1) / 2]);  // odd n: the middle sample exactly
    CHECK(st.min <= st.p50);
    CHECK(st.p50 <= st.p90);
    CHECK(st.p90 <= st.p99);
    CHECK(st.p99 <= st.max);
  }
}
