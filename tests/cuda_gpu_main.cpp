// Main of the GPU suite: without a usable CUDA device every test exits with 77, which CTest
// reports as Skipped, after printing why. Listing the tests (CTest's discovery) always works.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "cuda/cuda_backend.hpp"

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
  if (!listing) {
    const std::string why = pfrt::core::cuda_backend().unavailable_reason();
    if (!why.empty()) {
      std::printf("SKIPPED: the cuda backend's GPU tests need a CUDA device (%s)\n", why.c_str());
      return 77;
    }
  }
  doctest::Context context(argc, argv);
  return context.run();
}
