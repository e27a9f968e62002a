// Resource guarantees of the cpu backend, in an executable of their own because it replaces
// the global allocation functions: a warmed-up session's run() allocates nothing, and a
// session never has more threads than its `threads` option.
//
// What is counted: every form of operator new (replaced below). Without AddressSanitizer,
// malloc, calloc, realloc and the aligned allocators are interposed as well (forwarding to
// glibc's __libc_* entry points), so allocations inside XNNPACK, pthreadpool and oneTBB count
// too. Under ASan, which owns malloc, only operator new is counted.
#include <doctest/doctest.h>

#include <dirent.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <vector>

#include "model/model.hpp"
#include "session/session.hpp"
#include "support/test_models.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void note_allocation() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}

void* allocate(std::size_t size) {
  note_allocation();
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* allocate_aligned(std::size_t size, std::align_val_t align) {
  note_allocation();
  const std::size_t a = std::max<std::size_t>(std::size_t(align), sizeof(void*));
  void* p = nullptr;
  if (::posix_memalign(&p, a, size == 0 ? 1 : size) != 0) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void* operator new(std::size_t size, std::align_val_t align) { return allocate_aligned(size, align); }
void* operator new[](std::size_t size, std::align_val_t align) { return allocate_aligned(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#if !defined(__SANITIZE_ADDRESS__)
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t align, size_t size);
void __libc_free(void* p);

void* malloc(size_t size) noexcept {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) noexcept {
  note_allocation();
  return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
void* aligned_alloc(size_t align, size_t size) noexcept {
  note_allocation();
  return __libc_memalign(align, size);
}
void* memalign(size_t align, size_t size) noexcept {
  note_allocation();
  return __libc_memalign(align, size);
}
int posix_memalign(void** out, size_t align, size_t size) noexcept {
  note_allocation();
  void* p = __libc_memalign(align, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

using namespace pfrt;

namespace {

std::shared_ptr<const core::Model> make_model(const format::ModelConfig& c) {
  const std::vector<uint8_t> bytes = test::model_bytes(c, 3);
  return core::Model::from_buffer(bytes.data(), bytes.size());
}

std::vector<format::ModelConfig> configs() {
  format::ModelConfig cls = test::tiny_config();
  cls.branches = 3;
  cls.blocks_per_branch = 2;
  format::ModelConfig mean = test::tiny_config();
  mean.pooling = format::Pooling::kMean;
  mean.residual = format::Residual::kPreNorm;
  mean.merge_weights = {0.5f, 2.0f};
  return {cls, mean};
}

size_t thread_count() {
  size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
  }
  return n;
}

struct ThreadWatch {
  std::atomic<size_t> most{0};
  static void hook(uint32_t, void* context) {
    auto* w = static_cast<ThreadWatch*>(context);
    const size_t now = thread_count();
    size_t seen = w->most.load();
    while (now > seen && !w->most.compare_exchange_weak(seen, now)) {
    }
  }
};

}  // namespace

TEST_CASE("a warmed-up cpu session runs without allocating") {
  for (const format::ModelConfig& c : configs()) {
    const auto model = make_model(c);
    for (const int32_t threads : {1, 2, 3}) {
      CAPTURE(threads);
      CAPTURE(format::to_string(c.pooling));
      core::Session session(model, {"cpu", threads, 0});
      const std::vector<float> big = test::random_floats(3 * c.image_floats(), 1);
      const std::vector<float> small = test::random_floats(c.image_floats(), 2);
      std::vector<float> logits(3 * c.classes);
      core::RunOptions prefix;
      prefix.branches = 1;
      auto run_all = [&] {
        session.run(big.data(), big.size(), logits.data(), logits.size(), {});
        session.run(small.data(), small.size(), logits.data(), logits.size(), {});
        session.run(big.data(), big.size(), logits.data(), logits.size(), prefix);
      };
      run_all();  // warm-up: arenas grow to batch 3, threads start
      run_all();
      g_allocations.store(0);
      g_counting.store(true);
      for (int i = 0; i < 5; ++i) run_all();
      g_counting.store(false);
      CHECK(g_allocations.load() == 0);
    }
  }
}

TEST_CASE("the allocation counter sees allocations (the test above can fail)") {
  g_allocations.store(0);
  g_counting.store(true);
  std::vector<float>* v = new std::vector<float>(100);
  g_counting.store(false);
  delete v;
  CHECK(g_allocations.load() >= 1);
#if !defined(__SANITIZE_ADDRESS__)
  void* (*volatile plain_malloc)(size_t) = &std::malloc;  // volatile: not elided
  g_allocations.store(0);
  g_counting.store(true);
  void* p = plain_malloc(64);
  g_counting.store(false);
  std::free(p);
  CHECK(g_allocations.load() == 1);
#endif
}

TEST_CASE("a cpu session never runs more threads than its threads option") {
  struct Shape {
    int32_t threads;
    uint32_t branches;
  };
  for (const Shape s : {Shape{1, 1}, Shape{1, 3}, Shape{2, 1}, Shape{2, 2}, Shape{2, 3}, Shape{3, 2}, Shape{4, 1},
                        Shape{4, 3}, Shape{8, 3}}) {
    CAPTURE(s.threads);
    CAPTURE(s.branches);
    format::ModelConfig c = test::tiny_config();
    c.branches = s.branches;
    const auto model = make_model(c);
    // The calling thread is one of the session's threads; every other thread of the process
    // that exists now (oneTBB workers of earlier sessions included) counts as already there.
    const size_t before = thread_count();
    const size_t allowed = before + size_t(s.threads) - 1;
    {
      core::Session session(model, {"cpu", s.threads, 0});
      ThreadWatch watch;
      session.set_branch_hook(&ThreadWatch::hook, &watch);
      const std::vector<float> input = test::random_floats(2 * c.image_floats(), 4);
      std::vector<float> logits(2 * c.classes);
      for (int i = 0; i < 3; ++i) session.run(input.data(), input.size(), logits.data(), logits.size(), {});
      INFO("at most " << watch.most.load() << " threads during runs; " << before << " before the session");
      CHECK(watch.most.load() <= allowed);
      CHECK(thread_count() <= allowed);
    }
  }
}
