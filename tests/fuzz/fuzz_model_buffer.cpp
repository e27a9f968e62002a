// libFuzzer target: see pfrt::fuzz::model_buffer in fuzz_bodies.hpp.
#include <cstddef>
#include <cstdint>

#include "fuzz_bodies.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pfrt::fuzz::model_buffer(data, size);
  return 0;
}
