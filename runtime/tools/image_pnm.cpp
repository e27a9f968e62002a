// Binary PGM and PPM (P5, P6): 8-bit samples, or 16-bit ones (maximum value over 255: two bytes,
// most significant first), any maximum value, scaled to 0..255.
#include <string>

#include "image_decoders.hpp"

namespace pfrt::tools {
namespace {

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Header numbers past this are refused before they could overflow (the limits are far lower).
constexpr uint64_t kMaxHeaderNumber = 1'000'000'000;

// The next decimal number of the header, after whitespace and # comments (to the end of the line).
uint64_t read_number(const uint8_t* data, size_t size, size_t& pos, const char* what) {
  for (;;) {
    while (pos < size && is_space(data[pos])) ++pos;
    if (pos < size && data[pos] == '#') {
      while (pos < size && data[pos] != '\n' && data[pos] != '\r') ++pos;
      continue;
    }
    break;
  }
  if (pos >= size || data[pos] < '0' || data[pos] > '9') {
    throw ImageError(std::string("PGM/PPM header is malformed: no ") + what);
  }
  uint64_t value = 0;
  while (pos < size && data[pos] >= '0' && data[pos] <= '9') {
    value = value * 10 + uint64_t(data[pos++] - '0');
    if (value > kMaxHeaderNumber) throw ImageError(std::string("PGM/PPM header: the ") + what + " is too large");
  }
  return value;
}

}  // namespace

Image decode_pnm(const uint8_t* data, size_t size) {
  if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) {
    throw ImageError("not a binary PGM/PPM (P5 or P6) image");
  }
  size_t pos = 2;
  const uint64_t width = read_number(data, size, pos, "width");
  const uint64_t height = read_number(data, size, pos, "height");
  const uint64_t maxval = read_number(data, size, pos, "maximum value");
  if (pos >= size || !is_space(data[pos]))
    throw ImageError("PGM/PPM header is malformed: no whitespace before the pixels");
  ++pos;  // the single whitespace byte before the pixels
  if (maxval == 0 || maxval > 65535) {
    throw ImageError("PGM/PPM maximum value " + std::to_string(maxval) + " is not in 1..65535");
  }
  check_image_size(width, height);
  const uint32_t channels = data[1] == '6' ? 3 : 1;
  const size_t sample_bytes = maxval > 255 ? 2 : 1;
  const size_t count = size_t(width) * size_t(height) * channels;
  if (size - pos < count * sample_bytes) {
    throw ImageError("PGM/PPM pixel data is truncated (" + std::to_string(size - pos) + " of " +
                     std::to_string(count * sample_bytes) + " bytes)");
  }
  Image image;
  image.width = uint32_t(width);
  image.height = uint32_t(height);
  image.channels = channels;
  image.pixels.resize(count);
  const uint8_t* s = data + pos;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t v = sample_bytes == 2 ? uint32_t(s[2 * i]) << 8 | s[2 * i + 1] : s[i];
    image.pixels[i] = scale_sample(v, uint32_t(maxval));
  }
  return image;
}

}  // namespace pfrt::tools
