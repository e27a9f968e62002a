// The cpu backend: pfrt's packed GEMM and own kernels, branches running concurrently on oneTBB
// with a team of helper threads per branch slot. The default backend.
#pragma once

#include <string>

#include "backend/backend.hpp"

namespace pfrt::cpu {

const core::Backend& cpu_backend();

// Test hook: a non-empty reason makes the cpu backend report itself unavailable with it (as a
// build whose kernels could not run on this CPU would); empty makes it available again.
// Internal (white-box tests only).
void set_unavailable_for_testing(const std::string& reason);

}  // namespace pfrt::cpu
