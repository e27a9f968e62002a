// libFuzzer target: see pfrt::fuzz::safetensors in fuzz_bodies.hpp.
#include <cstddef>
#include <cstdint>

#include "fuzz_bodies.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pfrt::fuzz::safetensors(data, size);
  return 0;
}
