// The decoders behind decode_image (image.hpp), one per format: PNG through libpng, JPEG through
// libjpeg-turbo (TurboJPEG), binary PGM/PPM read here. Each takes the whole encoded image,
// refuses anything corrupt or over the limits with an ImageError, and never reads outside
// [data, data + size).
#pragma once

#include <cstddef>
#include <cstdint>

#include "image.hpp"

namespace pfrt::tools {

Image decode_png(const uint8_t* data, size_t size);
Image decode_jpeg(const uint8_t* data, size_t size);
Image decode_pnm(const uint8_t* data, size_t size);

// An ImageError unless width x height is within kMaxImageSide and kMaxImagePixels; called with
// the header's dimensions, before any pixel memory is allocated.
void check_image_size(uint64_t width, uint64_t height);

// A sample of 0..maxval as 0..255, rounded (values over maxval count as maxval).
inline uint8_t scale_sample(uint32_t value, uint32_t maxval) {
  return uint8_t(((value < maxval ? value : maxval) * 255u + maxval / 2) / maxval);
}

}  // namespace pfrt::tools
