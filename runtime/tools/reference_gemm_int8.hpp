// The int8 yardstick beside reference_gemm.hpp's f32 one: the rate XNNPACK's int8 GEMMs reach
// alone for a GEMM shape on the same threads, for `pfrt-bench --sweep --precision int8` and
// pfrt-gemm-bench. Debian's XNNPACK (2022) has two: a 1x1 convolution with per-channel weight
// scales over m "pixels" (convolution2d_nhwc_qc8, the form of pfrt's int8 weights) and the
// fully-connected operator with one weight scale (fully_connected_nc_qs8). Both take int8
// activations with a static scale and write requantised int8: the time is the GEMM alone,
// without the dynamic quantisation pfrt's int8 GEMM includes.
#pragma once

#include <cstdint>

#include "reference_gemm.hpp"

namespace pfrt::tools {

enum class Int8Reference { kConvolutionQc8, kFullyConnectedQs8 };

// "xnnpack qc8 1x1 convolution" or "xnnpack qs8 fully-connected".
const char* int8_reference_name(Int8Reference kind);

// GOP/s (2 m k n operations a run) of XNNPACK's int8 operator `kind` for `shape` on `threads`
// threads (1: no pool), the median of repeated runs lasting at least `min_seconds` in all.
// Throws std::runtime_error when XNNPACK fails.
double reference_gemm_int8_gops(const GemmShape& shape, uint32_t threads, double min_seconds,
                                Int8Reference kind = Int8Reference::kConvolutionQc8);

}  // namespace pfrt::tools
