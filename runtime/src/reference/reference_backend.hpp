// The reference backend: the network of docs/network.md in plain loops over reference/ops.
// Single-threaded and slow on purpose; it is the oracle, kept forever.
#pragma once

#include "backend/backend.hpp"

namespace pfrt::core {

const Backend& reference_backend();

}  // namespace pfrt::core
