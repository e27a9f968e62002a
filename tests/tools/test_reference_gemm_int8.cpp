// The int8 yardstick (reference_gemm_int8.hpp): both XNNPACK int8 operators are created, set up
// and run for odd shapes, on one thread and on a pool, and give a rate (no timing is asserted).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "reference_gemm_int8.hpp"

using namespace pfrt::tools;

TEST_CASE("reference int8 GEMM: XNNPACK's qc8 1x1 convolution and qs8 fully-connected run and give a rate") {
  for (const Int8Reference kind : {Int8Reference::kConvolutionQc8, Int8Reference::kFullyConnectedQs8}) {
    for (const uint32_t threads : {1u, 2u}) {
      CAPTURE(std::string(int8_reference_name(kind)));
      CAPTURE(threads);
      const double gops = reference_gemm_int8_gops(GemmShape{"odd", 7, 19, 13}, threads, 0.0, kind);
      CHECK(std::isfinite(gops));
      CHECK(gops > 0.0);
    }
  }
  CHECK(std::string(int8_reference_name(Int8Reference::kConvolutionQc8)).find("qc8") != std::string::npos);
}
