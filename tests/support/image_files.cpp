#include "support/image_files.hpp"

#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <memory>
#include <stdexcept>
#include <string>

namespace pfrt::test {
namespace {

void append(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

void flush(png_structp) {}

// All libpng calls (errors longjmp to here); nothing with a destructor lives in this frame.
bool write_png(png_structp png, png_infop info, const PngSpec& spec, const png_color* palette, int colours,
               const png_byte* alpha, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  static const int kColourTypes[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_IHDR(png, info, spec.width, spec.height, int(spec.bit_depth),
               spec.palette ? PNG_COLOR_TYPE_PALETTE : kColourTypes[spec.channels],
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (spec.palette) png_set_PLTE(png, info, palette, colours);
  if (alpha != nullptr) png_set_tRNS(png, info, alpha, spec.transparent_index + 1, nullptr);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

}  // namespace

std::vector<uint8_t> encode_png(const PngSpec& spec, const std::vector<uint8_t>& samples) {
  const size_t row_bytes = size_t(spec.width) * spec.channels * (spec.bit_depth / 8);
  if (spec.channels < 1 || spec.channels > 4 || (spec.bit_depth != 8 && spec.bit_depth != 16) ||
      samples.size() != row_bytes * spec.height || (spec.palette && (spec.channels != 3 || spec.bit_depth != 8))) {
    throw std::invalid_argument("encode_png: samples do not match the spec");
  }
  // A palette of the image's colours, and the image as indices into it.
  std::vector<png_color> palette;
  std::vector<uint8_t> indices;
  if (spec.palette) {
    for (size_t i = 0; i < samples.size(); i += 3) {
      const png_color c{samples[i], samples[i + 1], samples[i + 2]};
      auto same = [&](const png_color& p) { return p.red == c.red && p.green == c.green && p.blue == c.blue; };
      auto at = std::find_if(palette.begin(), palette.end(), same);
      if (at == palette.end()) {
        if (palette.size() == 256) throw std::invalid_argument("encode_png: more than 256 colours for a palette");
        at = palette.insert(palette.end(), c);
      }
      indices.push_back(uint8_t(at - palette.begin()));
    }
  }
  std::vector<png_byte> alpha(size_t(std::max(spec.transparent_index + 1, 0)), 255);
  if (!alpha.empty()) alpha.back() = 0;
  const std::vector<uint8_t>& body = spec.palette ? indices : samples;
  const size_t stride = spec.palette ? spec.width : row_bytes;
  std::vector<png_bytep> rows(spec.height);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = const_cast<png_bytep>(body.data() + y * stride);

  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info != nullptr) png_set_write_fn(png, &out, append, flush);
  const bool ok = info != nullptr && write_png(png, info, spec, palette.data(), int(palette.size()),
                                               alpha.empty() ? nullptr : alpha.data(), rows.data());
  png_destroy_write_struct(&png, &info);
  if (!ok) throw std::runtime_error("encode_png: libpng failed");
  return out;
}

std::vector<uint8_t> encode_jpeg(const JpegSpec& spec, const std::vector<uint8_t>& pixels) {
  if (spec.channels == 2 || spec.channels < 1 || spec.channels > 4 ||
      pixels.size() != size_t(spec.width) * spec.height * spec.channels) {
    throw std::invalid_argument("encode_jpeg: pixels do not match the spec");
  }
  struct Destroy {
    void operator()(void* handle) const { tjDestroy(handle); }
  };
  const std::unique_ptr<void, Destroy> handle(tjInitCompress());
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int subsampling = spec.channels == 1 ? TJSAMP_GRAY : spec.subsample ? TJSAMP_420 : TJSAMP_444;
  const int format = spec.channels == 1 ? TJPF_GRAY : spec.channels == 3 ? TJPF_RGB : TJPF_CMYK;
  if (!handle || tjCompress2(handle.get(), pixels.data(), int(spec.width), 0, int(spec.height), format, &jpeg, &size,
                             subsampling, spec.quality, spec.progressive ? TJFLAG_PROGRESSIVE : 0) != 0) {
    tjFree(jpeg);
    throw std::runtime_error(std::string("encode_jpeg: ") + tjGetErrorStr2(handle.get()));
  }
  std::vector<uint8_t> out(jpeg, jpeg + size);
  tjFree(jpeg);
  return out;
}

namespace {

// The offset of the first marker FF `code` in a JPEG's segments (before its entropy-coded data).
size_t jpeg_marker(const std::vector<uint8_t>& jpeg, uint8_t code) {
  for (size_t pos = 2; pos + 4 <= jpeg.size();) {
    if (jpeg[pos] != 0xff) break;
    if (jpeg[pos + 1] == code) return pos;
    if (jpeg[pos + 1] == 0xda) break;  // the scan: no segments past it
    pos += 2 + (size_t(jpeg[pos + 2]) << 8 | jpeg[pos + 3]);
  }
  throw std::logic_error("jpeg_marker: no marker FF " + std::to_string(code));
}

// The offset of the first byte of the first scan's entropy-coded data.
size_t jpeg_scan_data(const std::vector<uint8_t>& jpeg) {
  const size_t sos = jpeg_marker(jpeg, 0xda);
  return sos + 2 + (size_t(jpeg[sos + 2]) << 8 | jpeg[sos + 3]);
}

std::vector<uint8_t> cut(std::vector<uint8_t> bytes, size_t length) {
  bytes.resize(length);
  return bytes;
}

std::vector<uint8_t> set_u16(std::vector<uint8_t> bytes, size_t at, uint16_t value) {
  bytes.at(at) = uint8_t(value >> 8);
  bytes.at(at + 1) = uint8_t(value);
  return bytes;
}

std::vector<uint8_t> gradient(uint32_t width, uint32_t height, uint32_t channels) {
  std::vector<uint8_t> pixels(size_t(width) * height * channels);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = uint8_t((i / channels % width) * 5 + (i / channels / width) * 3);
  return pixels;
}

}  // namespace

std::vector<MalformedImage> malformed_images() {
  JpegSpec spec;
  spec.width = spec.height = 32;
  const std::vector<uint8_t> jpeg = encode_jpeg(spec, gradient(32, 32, 3));
  const size_t sof = jpeg_marker(jpeg, 0xc0), dqt = jpeg_marker(jpeg, 0xdb), dht = jpeg_marker(jpeg, 0xc4);
  const size_t scan = jpeg_scan_data(jpeg);
  std::vector<MalformedImage> out;
  out.push_back({"jpeg-truncated-in-scan.jpg", cut(jpeg, scan + (jpeg.size() - scan) / 2),
                 "corrupt JPEG (Premature end of JPEG file)"});
  out.push_back({"jpeg-truncated-in-header.jpg", cut(jpeg, dqt + 20), "corrupt JPEG (its header gives no image size)"});
  out.push_back({"jpeg-only-signature.jpg", {0xff, 0xd8, 0xff}, "corrupt JPEG (its header gives no image size)"});
  out.push_back({"jpeg-zero-width.jpg", set_u16(jpeg, sof + 7, 0), "corrupt JPEG (Empty JPEG image"});
  out.push_back({"jpeg-over-the-limit.jpg", set_u16(set_u16(jpeg, sof + 5, 60000), sof + 7, 60000),
                 "image of 60000x60000 pixels is over the limit"});
  std::vector<uint8_t> lossless = jpeg;
  lossless[sof + 1] = 0xc3;  // SOF3: lossless, which libjpeg-turbo 2.1 does not decode
  out.push_back({"jpeg-lossless-sof3.jpg", lossless, "corrupt JPEG (Unsupported JPEG process"});
  std::vector<uint8_t> no_table = jpeg;
  no_table[dqt + 4] = 0x03;  // the first table defined as table 3: table 0, which components use, is missing
  out.push_back(
      {"jpeg-quantization-table-missing.jpg", no_table, "corrupt JPEG (Quantization table 0x00 was not defined)"});
  std::vector<uint8_t> huffman = jpeg;
  for (size_t i = 0; i < 16; ++i) huffman[dht + 5 + i] = 0x20;  // 16 x 32 = 512 codes: more than 256 symbols
  out.push_back({"jpeg-huffman-over-256-symbols.jpg", huffman, "corrupt JPEG (Bogus Huffman table definition)"});
  std::vector<uint8_t> early_end = jpeg;
  early_end[scan + 10] = 0xff;
  early_end[scan + 11] = 0xd9;  // EOI inside the entropy-coded data
  out.push_back(
      {"jpeg-end-inside-scan.jpg", early_end, "corrupt JPEG (Corrupt JPEG data: premature end of data segment)"});
  JpegSpec cmyk = spec;
  cmyk.channels = 4;
  out.push_back({"jpeg-cmyk.jpg", encode_jpeg(cmyk, gradient(32, 32, 4)), "JPEG in YCCK is not supported"});

  PngSpec png_spec;
  png_spec.width = png_spec.height = 16;
  png_spec.channels = 3;
  const std::vector<uint8_t> png = encode_png(png_spec, gradient(16, 16, 3));
  out.push_back(
      {"png-truncated.png", cut(png, png.size() - 30), "corrupt PNG (truncated: the data ends inside the image)"});
  std::vector<uint8_t> bad_crc = png;
  bad_crc[16 + 12] ^= 0x01;  // IHDR's filter method byte: its CRC no longer matches
  out.push_back({"png-header-crc.png", bad_crc, "corrupt PNG (IHDR: CRC error)"});
  std::vector<uint8_t> wide = png;  // IHDR says 100000 pixels wide, with a CRC to match
  wide[16] = 0x00;
  wide[17] = 0x01;
  wide[18] = 0x86;
  wide[19] = 0xa0;
  const uint32_t crc = uint32_t(crc32(0, wide.data() + 12, 17));
  for (int i = 0; i < 4; ++i) wide[29 + size_t(i)] = uint8_t(crc >> (24 - 8 * i));
  // Named as pfrt's limit, not as libpng's "corrupt PNG (Invalid IHDR data ...)".
  out.push_back({"png-over-the-limit.png", wide,
                 "image of 100000x16 pixels is over the limit (16384 per side, 67108864 pixels)"});
  return out;
}

}  // namespace pfrt::test
