#include "image.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include "image_decoders.hpp"

namespace pfrt::tools {
namespace {

uint8_t to_u8(double v) { return uint8_t(std::clamp(std::floor(v + 0.5), 0.0, 255.0)); }

// Weights of the input pixels that make up each output pixel along one axis.
struct Tap {
  uint32_t first = 0;
  std::vector<double> weights;
};

std::vector<Tap> bilinear_taps(uint32_t in, uint32_t out) {
  std::vector<Tap> taps(out);
  const double scale = double(in) / double(out);
  for (uint32_t o = 0; o < out; ++o) {
    double src = (double(o) + 0.5) * scale - 0.5;
    src = std::clamp(src, 0.0, double(in - 1));
    const uint32_t lo = uint32_t(std::floor(src));
    const uint32_t hi = std::min(lo + 1, in - 1);
    const double frac = src - double(lo);
    taps[o].first = lo;
    taps[o].weights = hi == lo ? std::vector<double>{1.0} : std::vector<double>{1.0 - frac, frac};
  }
  return taps;
}

std::vector<Tap> area_taps(uint32_t in, uint32_t out) {
  std::vector<Tap> taps(out);
  const double scale = double(in) / double(out);
  for (uint32_t o = 0; o < out; ++o) {
    const double begin = double(o) * scale, end = double(o + 1) * scale;
    const uint32_t first = uint32_t(std::floor(begin));
    const uint32_t last = std::min(in - 1, uint32_t(std::ceil(end)) - 1);
    taps[o].first = first;
    for (uint32_t i = first; i <= last; ++i) {
      const double overlap = std::min(end, double(i + 1)) - std::max(begin, double(i));
      taps[o].weights.push_back(std::max(0.0, overlap) / scale);
    }
  }
  return taps;
}

bool starts_with(const uint8_t* data, size_t size, std::initializer_list<uint8_t> signature) {
  return size >= signature.size() && std::equal(signature.begin(), signature.end(), data);
}

}  // namespace

void check_image_size(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0) {
    throw ImageError("image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels is empty");
  }
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels) {
    throw ImageError("image of " + std::to_string(width) + "x" + std::to_string(height) +
                     " pixels is over the limit (" + std::to_string(kMaxImageSide) + " per side, " +
                     std::to_string(kMaxImagePixels) + " pixels)");
  }
}

Image decode_image(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) throw ImageError("empty image data");
  if (starts_with(data, size, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return decode_png(data, size);
  if (starts_with(data, size, {0xff, 0xd8, 0xff})) return decode_jpeg(data, size);
  if (starts_with(data, size, {'P', '5'}) || starts_with(data, size, {'P', '6'})) return decode_pnm(data, size);
  if (starts_with(data, size, {'P', '2'}) || starts_with(data, size, {'P', '3'})) {
    throw ImageError("plain (ASCII) PGM/PPM is not supported: save it as binary PGM/PPM (P5/P6)");
  }
  if (starts_with(data, size, {'B', 'M'})) throw ImageError("BMP is not supported: convert the image to PNG or JPEG");
  throw ImageError("not a PNG, JPEG, PGM or PPM image (unknown signature)");
}

Image load_image(const std::string& path) {
  if (std::error_code error; std::filesystem::is_directory(path, error)) {
    throw ImageError(path + ": is a directory, not an image file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path + ": cannot open the file");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(path + ": read error");
  try {
    return decode_image(bytes.data(), bytes.size());
  } catch (const ImageError& e) {
    throw ImageError(path + ": " + e.what());
  }
}

Image convert_channels(const Image& image, uint32_t channels) {
  if (channels != 1 && channels != 3) {
    throw ImageError("cannot convert an image to " + std::to_string(channels) + " channels (1 or 3 supported)");
  }
  if (image.channels < 1 || image.channels > 4) {
    throw ImageError("image has " + std::to_string(image.channels) + " channels (1 to 4 supported)");
  }
  const size_t n = size_t(image.width) * image.height;
  const uint32_t colour = image.channels >= 3 ? 3 : 1;  // without alpha
  if (colour == channels && image.channels == channels) return image;
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = channels;
  out.pixels.resize(n * channels);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &image.pixels[i * image.channels];
    uint8_t* q = &out.pixels[i * channels];
    if (colour == channels) {
      for (uint32_t k = 0; k < channels; ++k) q[k] = p[k];
    } else if (channels == 1) {
      q[0] = uint8_t((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
    } else {
      q[0] = q[1] = q[2] = p[0];
    }
  }
  return out;
}

Image resize(const Image& image, uint32_t width, uint32_t height, ResizeFilter filter) {
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide) {
    throw ImageError("cannot resize to " + std::to_string(width) + "x" + std::to_string(height));
  }
  if (image.width == 0 || image.height == 0) throw ImageError("cannot resize an empty image");
  if (image.width == width && image.height == height) return image;
  const std::vector<Tap> xs =
      filter == ResizeFilter::kArea ? area_taps(image.width, width) : bilinear_taps(image.width, width);
  const std::vector<Tap> ys =
      filter == ResizeFilter::kArea ? area_taps(image.height, height) : bilinear_taps(image.height, height);
  const uint32_t c = image.channels;
  // Horizontal pass into doubles, then vertical pass with rounding.
  std::vector<double> rows(size_t(image.height) * width * c);
  for (uint32_t y = 0; y < image.height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      for (uint32_t k = 0; k < c; ++k) {
        double acc = 0.0;
        for (size_t t = 0; t < xs[x].weights.size(); ++t) {
          acc += xs[x].weights[t] * image.pixels[(size_t(y) * image.width + xs[x].first + t) * c + k];
        }
        rows[(size_t(y) * width + x) * c + k] = acc;
      }
    }
  }
  Image out;
  out.width = width;
  out.height = height;
  out.channels = c;
  out.pixels.resize(size_t(width) * height * c);
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      for (uint32_t k = 0; k < c; ++k) {
        double acc = 0.0;
        for (size_t t = 0; t < ys[y].weights.size(); ++t) {
          acc += ys[y].weights[t] * rows[((ys[y].first + t) * width + x) * c + k];
        }
        out.pixels[(size_t(y) * width + x) * c + k] = to_u8(acc);
      }
    }
  }
  return out;
}

}  // namespace pfrt::tools
