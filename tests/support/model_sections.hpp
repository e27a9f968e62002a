// Where the parts of a model file lie: the header fields, the root table and its vtable, the
// config and its vectors, every tensor's table, name, shape and data, and the metadata. Tests
// cut files at these offsets to imitate every kind of partial write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pfrt::test {

// Offsets where a part begins or ends, strictly inside (0, bytes.size()), sorted, unique.
// `bytes` must be a valid size-prefixed model.
std::vector<size_t> section_boundaries(const std::vector<uint8_t>& bytes);

}  // namespace pfrt::test
