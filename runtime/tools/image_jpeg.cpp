// JPEG through Debian's libjpeg-turbo (the TurboJPEG API): baseline and progressive, grey or
// colour (YCbCr, RGB), any chroma subsampling. Decoded as libjpeg does by default (accurate
// integer IDCT, smooth upsampling), so the pixels equal PIL's. A warning (corrupt entropy data,
// a truncated file) is an error: the decoder would otherwise fill in grey. CMYK is refused.
#include <turbojpeg.h>

#include <memory>
#include <string>

#include "image_decoders.hpp"

namespace pfrt::tools {
namespace {

struct Destroy {
  void operator()(void* handle) const { tjDestroy(handle); }
};

const char* colourspace_name(int colourspace) {
  switch (colourspace) {
    case TJCS_CMYK: return "CMYK";
    case TJCS_YCCK: return "YCCK";
    default: return "an unknown colour space";
  }
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size) {
  const std::unique_ptr<void, Destroy> handle(tjInitDecompress());
  if (!handle) throw ImageError(std::string("cannot start the JPEG decoder: ") + tjGetErrorStr2(nullptr));
  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(handle.get(), data, static_cast<unsigned long>(size), &width, &height, &subsampling,
                          &colourspace) != 0) {
    throw ImageError(std::string("corrupt JPEG (") + tjGetErrorStr2(handle.get()) + ")");
  }
  if (width <= 0 || height <= 0) throw ImageError("corrupt JPEG (its header gives no image size)");
  check_image_size(uint64_t(width), uint64_t(height));
  if (colourspace != TJCS_GRAY && colourspace != TJCS_YCbCr && colourspace != TJCS_RGB) {
    throw ImageError(std::string("JPEG in ") + colourspace_name(colourspace) +
                     " is not supported (grey, YCbCr and RGB are): convert it to RGB");
  }
  Image image;
  image.width = uint32_t(width);
  image.height = uint32_t(height);
  image.channels = colourspace == TJCS_GRAY ? 1 : 3;
  image.pixels.resize(size_t(image.width) * image.height * image.channels);
  const int format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(handle.get(), data, static_cast<unsigned long>(size), image.pixels.data(), width, 0, height, format,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
    throw ImageError(std::string("corrupt JPEG (") + tjGetErrorStr2(handle.get()) + ")");
  }
  return image;
}

}  // namespace pfrt::tools
