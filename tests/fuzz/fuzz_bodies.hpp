// What each fuzz target does with one input, as plain functions: the libFuzzer entry points
// (fuzz_*.cpp, built with clang when PFRT_FUZZ=ON) call them, and the unit test that replays
// tests/data/fuzz-regressions/ calls the same code in every build. Each returns normally for
// any input; a violated expectation (an error without a message, the file and buffer paths
// disagreeing, an exception the API should not let out) aborts, which the fuzzer reports.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pfrt::fuzz {

// pfrt_model_open_buffer on the bytes; a model that opens is queried and, when small enough
// to run quickly, run once on zeros (batch 2) by a reference session.
void model_buffer(const uint8_t* data, size_t size);
// The same through a temporary file and pfrt_model_open; its status must match the buffer's.
void model_file(const uint8_t* data, size_t size);
// The converter's safetensors reader; a file that parses has every tensor converted to f32.
void safetensors(const uint8_t* data, size_t size);
// The converter's config.json parser.
void config_json(const uint8_t* data, size_t size);

}  // namespace pfrt::fuzz
