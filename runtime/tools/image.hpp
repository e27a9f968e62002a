// Images for the tools: decoding (PNG through libpng, JPEG through libjpeg-turbo, binary PGM/PPM;
// image_decoders.hpp), channel conversion and resizing to a model's input. Pixels are 8-bit,
// interleaved height x width x channels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pfrt::tools {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height x width x channels
};

// Larger images are refused before any pixel memory is allocated.
inline constexpr uint32_t kMaxImageSide = 16384;
inline constexpr uint64_t kMaxImagePixels = uint64_t{1} << 26;  // 64 Mpixel

// Decodes an encoded image held in memory, told apart by its signature: PNG (any colour type
// and bit depth; palette and transparency become RGB(A)), JPEG (grey or colour, baseline or
// progressive) or binary PGM/PPM. Samples of other ranges (16-bit PNG, PGM/PPM with a maximum
// value other than 255) are scaled to 0..255, rounded. Throws ImageError (unknown format,
// corrupt or truncated data, dimensions over the limits). Never reads outside [data, data + size).
Image decode_image(const uint8_t* data, size_t size);

// Reads and decodes a file; errors name the file.
Image load_image(const std::string& path);

// 1 <-> 3 channels: gray -> RGB repeats the value; RGB -> gray is ITU-R BT.601 luma
// (0.299 R + 0.587 G + 0.114 B, rounded). An alpha channel (2 or 4 channels) is dropped first.
Image convert_channels(const Image& image, uint32_t channels);

enum class ResizeFilter {
  kBilinear,  // half-pixel centres, edges clamped (PyTorch's align_corners=False)
  kArea,      // each output pixel averages the input area it covers (box filter)
};
Image resize(const Image& image, uint32_t width, uint32_t height, ResizeFilter filter);

}  // namespace pfrt::tools
