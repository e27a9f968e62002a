// libFuzzer target for pfrt-run's image decoding (pfrt_image, runtime/tools/image.hpp): any
// bytes either decode to an image within the size limits or throw ImageError; a decoded image
// is also converted to both channel counts and resized with both filters, as pfrt-run does.
// Both decoders are reached: libpng and libjpeg-turbo (Debian's, uninstrumented), and pfrt's own
// PGM/PPM reader. Built where the tools are (PFRT_BUILD_TOOLS); seeds from pfrt_fuzz_seeds: PNG
// and JPEG in every variant the decoders take, PGM/PPM, and the malformed-image corpus.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "image.hpp"

// Declared first: GCC's -Wmissing-declarations (this file is also built without libFuzzer, by
// replay_main.cpp's regression replay).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pfrt::tools;
  Image image;
  try {
    image = decode_image(data, size);
  } catch (const ImageError&) {
    return 0;  // refused with a message: the expected outcome for most inputs
  }
  if (image.width == 0 || image.height == 0 || image.width > kMaxImageSide || image.height > kMaxImageSide ||
      image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != size_t(image.width) * image.height * image.channels) {
    std::abort();  // a decoded image must be consistent
  }
  if (uint64_t(image.width) * image.height > 4096 * 4096) return 0;  // keep each input fast
  for (uint32_t channels : {1u, 3u}) {
    const Image converted = convert_channels(image, channels);
    if (converted.pixels.size() != size_t(image.width) * image.height * channels) std::abort();
    const Image a = resize(converted, 28, 28, ResizeFilter::kArea);
    const Image b = resize(converted, 7, 33, ResizeFilter::kBilinear);
    if (a.pixels.size() != size_t(28) * 28 * channels || b.pixels.size() != size_t(7) * 33 * channels) std::abort();
  }
  return 0;
}
