// PNG through Debian's libpng: every colour type (grey, grey + alpha, RGB, RGBA, palette with or
// without transparency), bit depths 1 to 16, interlaced or not. 16-bit samples are scaled to 8
// bits with rounding, as decode_image promises.
//
// libpng reports errors by longjmp to the setjmp of the call that failed. Every libpng call is
// made in a function below that holds nothing with a destructor, and the jump never crosses a
// C++ frame that does; the pixel memory is owned by the caller of those functions.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string>
#include <vector>

#include "image_decoders.hpp"

namespace pfrt::tools {
namespace {

// What libpng reads from, and where its last error and warning messages go.
struct PngSource {
  const uint8_t* data;
  size_t size;
  size_t offset;
  char error[128];
  char warning[128];  // libpng warns first of what its next error means ("Invalid IHDR data")
};

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::strncpy(source->error, message, sizeof(source->error) - 1);
  png_longjmp(png, 1);
}

// Ancillary trouble (a bad gAMA chunk, say) is not an error; kept for the message of one.
void on_warning(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::strncpy(source->warning, message, sizeof(source->warning) - 1);
}

ImageError corrupt(const PngSource& source) {
  return ImageError(std::string("corrupt PNG (") + source.error + (source.warning[0] ? ": " : "") + source.warning +
                    ")");
}

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->size - source->offset) png_error(png, "truncated: the data ends inside the image");
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

struct PngShape {
  png_uint_32 width = 0, height = 0;
  int channels = 0, bit_depth = 0;
};

// Reads the header and sets the transformations to 1-4 channels of 8 or 16 bits. false: an
// error, in the PngSource.
bool read_header(png_structp png, png_infop info, PngShape* shape) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_user_limits(png, kMaxImageSide, kMaxImageSide);
  png_read_info(png, info);
  const int colour = png_get_color_type(png, info);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  shape->width = png_get_image_width(png, info);
  shape->height = png_get_image_height(png, info);
  shape->channels = png_get_channels(png, info);
  shape->bit_depth = png_get_bit_depth(png, info);
  return true;
}

// Reads every row into `rows` (sized by the caller from the header), then the chunks after the
// image data up to IEND. false: an error, in the PngSource.
bool read_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

}  // namespace

Image decode_png(const uint8_t* data, size_t size) {
  // The header's size first, in pfrt's words: libpng would call an oversized image "corrupt".
  if (size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    const auto be32 = [data](size_t at) {
      return uint32_t(data[at]) << 24 | uint32_t(data[at + 1]) << 16 | uint32_t(data[at + 2]) << 8 | data[at + 3];
    };
    check_image_size(be32(16), be32(20));
  }
  PngSource source{data, size, 0, {}, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw ImageError("corrupt PNG (libpng could not start: out of memory)");
  }
  png_set_read_fn(png, &source, read_bytes);
  struct Release {
    png_structp* png;
    png_infop* info;
    ~Release() { png_destroy_read_struct(png, info, nullptr); }
  } release{&png, &info};

  PngShape shape;
  if (!read_header(png, info, &shape)) throw corrupt(source);
  check_image_size(shape.width, shape.height);
  if (shape.channels < 1 || shape.channels > 4 || (shape.bit_depth != 8 && shape.bit_depth != 16)) {
    throw ImageError("PNG decoded to " + std::to_string(shape.channels) + " channels of " +
                     std::to_string(shape.bit_depth) + " bits, not 1-4 of 8 or 16");
  }
  const size_t samples = size_t(shape.width) * shape.channels;
  const size_t row_bytes = samples * size_t(shape.bit_depth / 8);
  std::vector<uint8_t> decoded(row_bytes * shape.height);
  std::vector<png_bytep> rows(shape.height);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = decoded.data() + y * row_bytes;
  if (!read_rows(png, info, rows.data())) throw corrupt(source);

  Image image;
  image.width = shape.width;
  image.height = shape.height;
  image.channels = uint32_t(shape.channels);
  if (shape.bit_depth == 8) {
    image.pixels = std::move(decoded);
  } else {  // 16-bit samples, most significant byte first
    image.pixels.resize(samples * shape.height);
    for (size_t i = 0; i < image.pixels.size(); ++i) {
      image.pixels[i] = scale_sample(uint32_t(decoded[2 * i]) << 8 | decoded[2 * i + 1], 65535);
    }
  }
  return image;
}

}  // namespace pfrt::tools
