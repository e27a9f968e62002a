// The cpu backend: XNNPACK GEMMs, own kernels, branches running concurrently on oneTBB.
#pragma once

#include "backend/backend.hpp"

namespace pfrt::cpu {

const core::Backend& cpu_backend();

}  // namespace pfrt::cpu
