// How attention_queries (attention.cpp) groups query rows: in register blocks of this many rows
// or a divisor of it (by instruction set), so a block of rows that is not a multiple of it
// computes padding rows. Shared by the kernels and the stage runner that splits a stage's
// query rows over threads.
#pragma once

#include <cstddef>

namespace pfrt::cpu::kernels {

inline constexpr size_t kAttentionBlockRows = 8;

}  // namespace pfrt::cpu::kernels
