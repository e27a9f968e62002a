// The cpu backend: pfrt's packed GEMM and own kernels, branches running concurrently on oneTBB
// with a team of helper threads per branch slot.
#pragma once

#include "backend/backend.hpp"

namespace pfrt::cpu {

const core::Backend& cpu_backend();

}  // namespace pfrt::cpu
