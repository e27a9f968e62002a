// Encoded images for the tests and the fuzz seeds, written with the libraries pfrt-run decodes
// with (libpng, libjpeg-turbo), so that every colour type, bit depth and JPEG variant the
// decoders take can be made in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfrt::test {

struct PngSpec {
  uint32_t width = 1, height = 1;
  uint32_t channels = 1;       // 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
  uint32_t bit_depth = 8;      // 8 or 16 (16: two bytes per sample in `samples`, most significant first)
  bool palette = false;        // channels 3: written as a palette of the image's colours (at most 256)
  int transparent_index = -1;  // with `palette`: this palette entry is transparent (a tRNS chunk)
  bool interlaced = false;     // Adam7
};

// `samples`: height x width x channels samples of spec.bit_depth bits (16-bit: big-endian pairs).
std::vector<uint8_t> encode_png(const PngSpec& spec, const std::vector<uint8_t>& samples);

struct JpegSpec {
  uint32_t width = 1, height = 1;
  uint32_t channels = 3;  // 1 grey, 3 RGB, 4 CMYK (written as YCCK)
  int quality = 90;
  bool subsample = true;  // colour: 4:2:0 (else 4:4:4)
  bool progressive = false;
};

// `pixels`: height x width x channels bytes.
std::vector<uint8_t> encode_jpeg(const JpegSpec& spec, const std::vector<uint8_t>& pixels);

// The malformed-image corpus: JPEG and PNG files cut short, with broken or missing tables,
// dimensions over the limits, or a colour space pfrt refuses, each with the part of the error
// message decode_image must give. The tests check every one; the fuzz seeds include them.
struct MalformedImage {
  std::string name;  // e.g. "jpeg-truncated-in-scan.jpg"
  std::vector<uint8_t> bytes;
  std::string message;  // a part of decode_image's error
};
std::vector<MalformedImage> malformed_images();

}  // namespace pfrt::test
