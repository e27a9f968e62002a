// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed: a big-endian header
// (two zero bytes, type 0x08 = unsigned byte, dimension count), the dimensions as big-endian
// uint32, then the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pfrt::tools {

class IdxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

// Decompressed files over this size are refused (the Fashion-MNIST training set is 47 MB).
inline constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 31;

// Parses an unsigned-byte IDX array; `name` labels errors. Throws IdxError.
IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name);

// Reads a file, gunzipping it when it is compressed. Throws IdxError naming the file.
IdxArray read_idx_file(const std::string& path);

// A labelled image set: images [N, H, W] (or [N, H, W, C]) and labels [N].
struct LabelledImages {
  std::string name;  // the images file, for messages
  uint32_t count = 0, height = 0, width = 0, channels = 1;
  std::vector<uint8_t> pixels;  // count x height x width x channels
  std::vector<uint8_t> labels;
};
LabelledImages read_labelled_images(const std::string& images_path, const std::string& labels_path);

}  // namespace pfrt::tools
