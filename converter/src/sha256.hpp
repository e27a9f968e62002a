// SHA-256 (FIPS 180-4), to record which weights file a model was converted from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pfrt::convert {

// Lower-case hex digest of the bytes.
std::string sha256_hex(const uint8_t* data, size_t size);

}  // namespace pfrt::convert
