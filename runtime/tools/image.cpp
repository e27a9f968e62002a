#include "image.hpp"

#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>

namespace pfrt::tools {
namespace {

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

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

// The signatures of the formats decode_image takes: binary PGM/PPM ("P5", "P6") and PNG.
bool is_pnm(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'); }
bool is_png(const uint8_t* data, size_t size) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return size >= 8 && std::equal(kPng, kPng + 8, data);
}

// What decode_image needs of a binary PGM/PPM header (P5, P6).
struct PnmHeader {
  bool present = false;  // the data is a binary PGM/PPM
  uint64_t width = 0, height = 0;
  uint32_t maxval = 0;   // the sample value that means white (full intensity)
  size_t offset = 0;     // where the samples start
};

// stb_image reads a binary PGM/PPM whose pixel data is cut short without complaint (the
// missing pixels come out as zeros): check the length its header implies first.
PnmHeader read_pnm_header(const uint8_t* data, size_t size) {
  if (!is_pnm(data, size)) return {};
  size_t pos = 2;
  uint64_t fields[3] = {0, 0, 0};  // width, height, maximum value
  for (uint64_t& field : fields) {
    for (;;) {  // whitespace and # comments
      while (pos < size && (data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\n' || data[pos] == '\r')) ++pos;
      if (pos < size && data[pos] == '#') {
        while (pos < size && data[pos] != '\n') ++pos;
        continue;
      }
      break;
    }
    if (pos >= size || data[pos] < '0' || data[pos] > '9') throw ImageError("PGM/PPM header is malformed");
    while (pos < size && data[pos] >= '0' && data[pos] <= '9' && field < 1000000000) field = field * 10 + (data[pos++] - '0');
  }
  ++pos;  // the single whitespace byte before the pixels
  if (fields[2] == 0 || fields[2] > 65535) {
    throw ImageError("PGM/PPM maximum value " + std::to_string(fields[2]) + " is not in 1..65535");
  }
  const uint64_t channels = data[1] == '6' ? 3 : 1;
  const uint64_t need = fields[0] * fields[1] * channels * (fields[2] > 255 ? 2 : 1);
  if (fields[0] <= kMaxImageSide && fields[1] <= kMaxImageSide && (pos > size || size - pos < need)) {
    throw ImageError("PGM/PPM pixel data is truncated (" + std::to_string(pos > size ? 0 : size - pos) + " of " +
                     std::to_string(need) + " bytes)");
  }
  return {true, fields[0], fields[1], uint32_t(fields[2]), pos};
}

// A sample of 0..maxval as 0..255, rounded (values over maxval count as maxval).
uint8_t scale_sample(uint32_t value, uint32_t maxval) {
  return uint8_t((std::min(value, maxval) * 255u + maxval / 2) / maxval);
}

// stb_image 2.27 reads the PGM/PPM header's numbers into an int without a bound (signed
// overflow, undefined behaviour, found by tests/fuzz/fuzz_image). This reads them exactly as
// stbi__pnm_info does (the byte after "P5"/"P6" is already the first candidate, "#" comments
// end at CR or LF, the last byte of the data is never taken as a digit) and refuses a number
// that would not fit.
void check_pnm_numbers(const uint8_t* data, size_t size) {
  if (!is_pnm(data, size)) return;
  const uint8_t* p = data + 2;
  const uint8_t* const end = data + size;
  auto at_end = [&] { return p >= end; };
  auto next = [&] { return p < end ? char(*p++) : '\0'; };
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  char c = next();
  auto skip = [&] {
    for (;;) {
      while (!at_end() && space(c)) c = next();
      if (at_end() || c != '#') break;
      while (!at_end() && c != '\n' && c != '\r') c = next();
    }
  };
  for (int field = 0; field < 3; ++field) {
    skip();
    uint64_t value = 0;
    while (!at_end() && c >= '0' && c <= '9') {
      value = value * 10 + uint64_t(c - '0');
      if (value > uint64_t(std::numeric_limits<int>::max())) {
        throw ImageError("PGM/PPM header has a number larger than " + std::to_string(std::numeric_limits<int>::max()));
      }
      c = next();
    }
  }
}

// stb_image 2.27 grows its buffer to a PNG IDAT chunk's declared length before it reads the
// chunk, so 100 bytes that declare a 2 GiB chunk make it allocate 2 GiB (found by
// tests/fuzz/fuzz_image). Walk the chunks as stb does, from the signature to IEND, and refuse
// one whose declared length is more than the bytes that follow its header.
void check_png_chunks(const uint8_t* data, size_t size) {
  if (!is_png(data, size)) return;
  for (size_t pos = 8; pos + 8 <= size;) {
    const uint32_t length = uint32_t(data[pos]) << 24 | uint32_t(data[pos + 1]) << 16 | uint32_t(data[pos + 2]) << 8 | data[pos + 3];
    const std::string type(reinterpret_cast<const char*>(data + pos + 4), 4);
    if (length > size - pos - 8) {
      throw ImageError("corrupt PNG: chunk of " + std::to_string(length) + " bytes, but only " +
                       std::to_string(size - pos - 8) + " follow its header");
    }
    if (type == "IEND") return;
    pos += 8 + size_t(length) + 4;  // header, data, CRC
  }
}

// Only the formats pfrt-run documents reach stb_image: PNG and binary PGM/PPM. Its other
// decoders are attack surface pfrt-run does not need; its JPEG decoder in particular showed
// defects under fuzzing (a Huffman table of over 256 symbols written past its arrays, shifts
// out of range on corrupt entropy data), so JPEG and BMP are refused too.
void check_format(const uint8_t* data, size_t size) {
  if (is_png(data, size) || is_pnm(data, size)) return;
  const bool jpeg = size >= 2 && data[0] == 0xff && data[1] == 0xd8;
  const bool bmp = size >= 2 && data[0] == 'B' && data[1] == 'M';
  if (jpeg || bmp) {
    throw ImageError(std::string(jpeg ? "JPEG" : "BMP") + " is not supported: convert the image to PNG or PGM/PPM");
  }
  throw ImageError("not a PNG, PGM or PPM image (unknown signature)");
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) throw ImageError("empty image data");
  if (size > size_t(std::numeric_limits<int>::max())) throw ImageError("image data over 2 GiB");
  check_format(data, size);
  check_pnm_numbers(data, size);
  check_png_chunks(data, size);
  const PnmHeader pnm = read_pnm_header(data, size);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, int(size), &w, &h, &c)) {
    throw ImageError(std::string("not a decodable PNG, PGM or PPM image (") + stbi_failure_reason() + ")");
  }
  if (w <= 0 || h <= 0 || uint32_t(w) > kMaxImageSide || uint32_t(h) > kMaxImageSide ||
      uint64_t(w) * uint64_t(h) > kMaxImagePixels) {
    throw ImageError("image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is over the limit (" +
                     std::to_string(kMaxImageSide) + " per side, " + std::to_string(kMaxImagePixels) + " pixels)");
  }
  // stb_image makes 8 bits of a 16-bit PNG sample by dropping its low byte: load those as
  // they are and round (PGM/PPM, whose 16-bit samples stb reads wrongly, are handled below).
  const bool sixteen = !pnm.present && stbi_is_16_bit_from_memory(data, int(size));
  void* decoded = sixteen ? static_cast<void*>(stbi_load_16_from_memory(data, int(size), &w, &h, &c, 0))
                         : static_cast<void*>(stbi_load_from_memory(data, int(size), &w, &h, &c, 0));
  std::unique_ptr<void, StbFree> pixels(decoded);
  if (!pixels) throw ImageError(std::string("corrupt image (") + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || c < 1 || c > 4 || uint32_t(w) > kMaxImageSide || uint32_t(h) > kMaxImageSide) {
    throw ImageError("decoder returned an unexpected image shape");
  }
  Image img;
  img.width = uint32_t(w);
  img.height = uint32_t(h);
  img.channels = uint32_t(c);
  const size_t count = size_t(w) * size_t(h) * size_t(c);
  if (sixteen) {
    const auto* p = static_cast<const uint16_t*>(pixels.get());
    img.pixels.resize(count);
    for (size_t i = 0; i < count; ++i) img.pixels[i] = scale_sample(p[i], 65535);
  } else if (pnm.present && pnm.maxval != 255) {
    // stb_image passes PGM/PPM samples through unscaled, and reads 16-bit ones (maximum value
    // over 255: two bytes, most significant first) in the wrong byte order: scale the file's
    // samples to 0..255 here.
    const size_t bytes = count * (pnm.maxval > 255 ? 2 : 1);
    if (pnm.width != img.width || pnm.height != img.height || pnm.offset > size || size - pnm.offset < bytes) {
      throw ImageError("PGM/PPM header is malformed");
    }
    const uint8_t* s = data + pnm.offset;
    img.pixels.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t v = pnm.maxval > 255 ? uint32_t(s[2 * i]) << 8 | s[2 * i + 1] : s[i];
      img.pixels[i] = scale_sample(v, pnm.maxval);
    }
  } else {
    const auto* p = static_cast<const uint8_t*>(pixels.get());
    img.pixels.assign(p, p + count);
  }
  return img;
}

Image load_image(const std::string& path) {
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
  const std::vector<Tap> xs = filter == ResizeFilter::kArea ? area_taps(image.width, width) : bilinear_taps(image.width, width);
  const std::vector<Tap> ys = filter == ResizeFilter::kArea ? area_taps(image.height, height) : bilinear_taps(image.height, height);
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
