// backend/shared_cache.hpp: what a backend prepares once per model (the cpu backend's packed
// weights, the cuda backend's device copy) is shared by every session of that model.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/shared_cache.hpp"

using namespace pfrt;

TEST_CASE("a shared value lives while held and is created once per key") {
  core::SharedCache<int, std::string> cache;
  int created = 0;
  auto make = [&](const char* s) {
    return [&created, s] {
      ++created;
      return std::make_shared<std::string>(s);
    };
  };
  auto a1 = cache.get(1, make("a"));
  auto a2 = cache.get(1, make("other"));
  auto b = cache.get(2, make("b"));
  CHECK(a1.get() == a2.get());
  CHECK(*a2 == "a");
  CHECK(*b == "b");
  CHECK(created == 2);
  CHECK(cache.size() == 2);
  a1.reset();
  a2.reset();
  CHECK(cache.size() == 1);
  auto a3 = cache.get(1, make("again"));
  CHECK(*a3 == "again");
  CHECK(created == 3);

  // A failed creation caches nothing.
  CHECK_THROWS_AS(cache.get(3, []() -> std::shared_ptr<std::string> { throw std::runtime_error("no"); }),
                  std::runtime_error);
  auto c = cache.get(3, make("c"));
  CHECK(*c == "c");

  // Threads asking at once get one object, created once.
  core::SharedCache<int, int> shared;
  std::atomic<int> made{0};
  std::vector<std::shared_ptr<int>> got(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      got[i] = shared.get(7, [&] {
        made.fetch_add(1);
        return std::make_shared<int>(42);
      });
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(made.load() == 1);
  for (const auto& p : got) CHECK(p.get() == got[0].get());
}
