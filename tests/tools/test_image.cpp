// Image decoding, channel conversion and resizing against hand-computed results.
#include <doctest/doctest.h>

#include <stb_image_write.h>

#include <string>
#include <vector>

#include "image.hpp"

using namespace pfrt::tools;

namespace {

std::vector<uint8_t> bytes(const std::string& header, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b(header.begin(), header.end());
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Image gray(uint32_t w, uint32_t h, std::vector<uint8_t> px) {
  Image i;
  i.width = w;
  i.height = h;
  i.channels = 1;
  i.pixels = std::move(px);
  return i;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

}  // namespace

TEST_CASE("image: binary PGM and PPM decode to their pixels") {
  const auto pgm = bytes("P5\n3 2\n255\n", {0, 10, 20, 30, 40, 50});
  const Image g = decode_image(pgm.data(), pgm.size());
  CHECK(g.width == 3);
  CHECK(g.height == 2);
  CHECK(g.channels == 1);
  CHECK(g.pixels == std::vector<uint8_t>{0, 10, 20, 30, 40, 50});
  const auto ppm = bytes("P6\n2 1\n255\n", {255, 0, 0, 0, 0, 255});
  const Image c = decode_image(ppm.data(), ppm.size());
  CHECK(c.channels == 3);
  CHECK(c.pixels == std::vector<uint8_t>{255, 0, 0, 0, 0, 255});
}

TEST_CASE("image: RGB -> gray is BT.601 luma, gray -> RGB repeats, alpha is dropped") {
  Image rgb;
  rgb.width = 2;
  rgb.height = 1;
  rgb.channels = 3;
  rgb.pixels = {255, 0, 0, 0, 0, 255};
  // 0.299 * 255 = 76.245 -> 76; 0.114 * 255 = 29.07 -> 29.
  CHECK(convert_channels(rgb, 1).pixels == std::vector<uint8_t>{76, 29});
  CHECK(convert_channels(gray(2, 1, {7, 200}), 3).pixels == std::vector<uint8_t>{7, 7, 7, 200, 200, 200});
  CHECK_THROWS_AS(convert_channels(rgb, 2), ImageError);

  // An RGBA PNG (encoded in memory): alpha dropped, then luma.
  const unsigned char rgba[] = {10, 20, 30, 255, 200, 100, 50, 0};
  std::vector<uint8_t> png;
  REQUIRE(stbi_write_png_to_func(append_bytes, &png, 2, 1, 4, rgba, 8) != 0);
  const Image decoded = decode_image(png.data(), png.size());
  CHECK(decoded.channels == 4);
  CHECK(convert_channels(decoded, 3).pixels == std::vector<uint8_t>{10, 20, 30, 200, 100, 50});
  // 0.299*10 + 0.587*20 + 0.114*30 = 18.15 -> 18; 0.299*200 + 0.587*100 + 0.114*50 = 124.2 -> 124.
  CHECK(convert_channels(decoded, 1).pixels == std::vector<uint8_t>{18, 124});
}

TEST_CASE("image: area resize averages the covered input, fractional coverage weighted") {
  std::vector<uint8_t> px(16);
  for (int i = 0; i < 16; ++i) px[size_t(i)] = uint8_t(i);
  // 4x4 -> 2x2: means 2.5, 4.5, 10.5, 12.5, rounded half up.
  CHECK(resize(gray(4, 4, px), 2, 2, ResizeFilter::kArea).pixels == std::vector<uint8_t>{3, 5, 11, 13});
  // 3 -> 2: (0 * 1 + 90 * 0.5) / 1.5 = 30 and (90 * 0.5 + 180 * 1) / 1.5 = 150.
  CHECK(resize(gray(3, 1, {0, 90, 180}), 2, 1, ResizeFilter::kArea).pixels == std::vector<uint8_t>{30, 150});
}

TEST_CASE("image: bilinear resize uses half-pixel centres with clamped edges") {
  // 2 -> 4: sources -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  CHECK(resize(gray(2, 1, {0, 100}), 4, 1, ResizeFilter::kBilinear).pixels == std::vector<uint8_t>{0, 25, 75, 100});
  // 4 -> 2: sources 0.5 and 2.5.
  CHECK(resize(gray(4, 1, {0, 40, 80, 120}), 2, 1, ResizeFilter::kBilinear).pixels == std::vector<uint8_t>{20, 100});
  // Both axes: 2x2 -> 3x3 centre is the mean of all four.
  const Image r = resize(gray(2, 2, {0, 60, 120, 180}), 3, 3, ResizeFilter::kBilinear);
  CHECK(r.pixels[4] == 90);
  CHECK_THROWS_AS(resize(gray(2, 1, {0, 1}), 0, 1, ResizeFilter::kBilinear), ImageError);
}

TEST_CASE("image: bad data is refused with a clear error, huge images before allocating") {
  const std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK_THROWS_AS(decode_image(junk.data(), junk.size()), ImageError);
  CHECK_THROWS_AS(decode_image(nullptr, 0), ImageError);
  const auto truncated = bytes("P5\n3 2\n255\n", {0, 10});
  CHECK_THROWS_AS(decode_image(truncated.data(), truncated.size()), ImageError);
  const auto huge = bytes("P5\n100000 100000\n255\n", {0, 1, 2, 3});
  CHECK_THROWS_WITH_AS(decode_image(huge.data(), huge.size()),
                       doctest::Contains("100000x100000 pixels is over the limit"), ImageError);
  const auto wide = bytes("P5\n20000 1\n255\n", {0});
  CHECK_THROWS_AS(decode_image(wide.data(), wide.size()), ImageError);
  CHECK_THROWS_WITH_AS(load_image("/nonexistent/x.png"), "/nonexistent/x.png: cannot open the file", ImageError);
}

TEST_CASE("image: JPEG and BMP are refused before stb_image sees them") {
  // stb_image 2.27's JPEG decoder writes past its tables on some files
  // (tests/data/fuzz-regressions/fuzz_image) and shifts out of range on others.
  std::vector<uint8_t> rgb(8 * 8 * 3, 100), jpeg, bmp;
  REQUIRE(stbi_write_jpg_to_func(append_bytes, &jpeg, 8, 8, 3, rgb.data(), 90) != 0);
  CHECK_THROWS_WITH_AS(decode_image(jpeg.data(), jpeg.size()), "JPEG is not supported: convert the image to PNG or PGM/PPM",
                       ImageError);
  REQUIRE(stbi_write_bmp_to_func(append_bytes, &bmp, 8, 8, 3, rgb.data()) != 0);
  CHECK_THROWS_WITH_AS(decode_image(bmp.data(), bmp.size()), doctest::Contains("BMP is not supported"), ImageError);
}

TEST_CASE("image: formats other than PNG, PGM and PPM do not reach the decoder") {
  std::vector<uint8_t> rgb(4 * 4 * 3, 7), tga;
  REQUIRE(stbi_write_tga_to_func(append_bytes, &tga, 4, 4, 3, rgb.data()) != 0);
  CHECK_THROWS_WITH_AS(decode_image(tga.data(), tga.size()), doctest::Contains("unknown signature"), ImageError);
  const std::string gif = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
  CHECK_THROWS_WITH_AS(decode_image(reinterpret_cast<const uint8_t*>(gif.data()), gif.size()),
                       doctest::Contains("unknown signature"), ImageError);
}

TEST_CASE("image: a PGM/PPM header number too large for stb_image's int is refused") {
  const auto huge = bytes("P5 # c\r99999999999 1\n255\n", {0});  // the comment ends at CR, as stb reads it
  CHECK_THROWS_WITH_AS(decode_image(huge.data(), huge.size()), doctest::Contains("header has a number larger than"),
                       ImageError);
  const auto fits = bytes("P5\n2147483647 1\n255\n", {0});
  CHECK_THROWS_WITH_AS(decode_image(fits.data(), fits.size()), doctest::Contains("over the limit"), ImageError);
}

TEST_CASE("image: a PNG chunk that declares more bytes than the file holds is refused before any allocation") {
  const uint8_t rgba[8] = {255, 0, 0, 255, 0, 255, 0, 128};
  std::vector<uint8_t> png;
  REQUIRE(stbi_write_png_to_func(append_bytes, &png, 2, 1, 4, rgba, 8) != 0);
  REQUIRE_NOTHROW(decode_image(png.data(), png.size()));
  // The IHDR chunk (13 bytes, at offset 8) is followed by IDAT: declare 2 GiB - 1 for it.
  const size_t idat = 8 + 8 + 13 + 4;
  REQUIRE(std::string(png.begin() + long(idat) + 4, png.begin() + long(idat) + 8) == "IDAT");
  png[idat] = 0x7f;
  png[idat + 1] = png[idat + 2] = png[idat + 3] = 0xff;
  CHECK_THROWS_WITH_AS(decode_image(png.data(), png.size()), doctest::Contains("corrupt PNG: chunk of 2147483647 bytes"),
                       ImageError);
}
