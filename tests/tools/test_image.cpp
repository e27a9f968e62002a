// Image decoding (libpng, libjpeg-turbo, PGM/PPM), channel conversion and resizing against
// hand-computed results, and the malformed-image corpus (tests/support/image_files.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "image.hpp"
#include "support/image_files.hpp"
#include "support/test_models.hpp"

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

Image decode(const std::vector<uint8_t>& encoded) { return decode_image(encoded.data(), encoded.size()); }

int max_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  return worst;
}

}  // namespace

TEST_CASE("image: binary PGM and PPM decode to their pixels") {
  const auto pgm = bytes("P5\n3 2\n255\n", {0, 10, 20, 30, 40, 50});
  const Image g = decode(pgm);
  CHECK(g.width == 3);
  CHECK(g.height == 2);
  CHECK(g.channels == 1);
  CHECK(g.pixels == std::vector<uint8_t>{0, 10, 20, 30, 40, 50});
  const auto ppm = bytes("P6\n2 1\n255\n", {255, 0, 0, 0, 0, 255});
  const Image c = decode(ppm);
  CHECK(c.channels == 3);
  CHECK(c.pixels == std::vector<uint8_t>{255, 0, 0, 0, 0, 255});
  // 16-bit samples and other maximum values are scaled to 0..255, rounded.
  CHECK(decode(bytes("P5 # c\n2 1 1000\n", {0x03, 0xe8, 0x01, 0xf4})).pixels == std::vector<uint8_t>{255, 128});
  CHECK(decode(bytes("P5\n2 1\n127\n", {127, 64})).pixels == std::vector<uint8_t>{255, 129});
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

  // An RGBA PNG: alpha dropped, then luma.
  pfrt::test::PngSpec spec;
  spec.width = 2;
  spec.channels = 4;
  const Image decoded = decode(pfrt::test::encode_png(spec, {10, 20, 30, 255, 200, 100, 50, 0}));
  CHECK(decoded.channels == 4);
  CHECK(convert_channels(decoded, 3).pixels == std::vector<uint8_t>{10, 20, 30, 200, 100, 50});
  // 0.299*10 + 0.587*20 + 0.114*30 = 18.15 -> 18; 0.299*200 + 0.587*100 + 0.114*50 = 124.2 -> 124.
  CHECK(convert_channels(decoded, 1).pixels == std::vector<uint8_t>{18, 124});
}

TEST_CASE("image: PNG of every colour type and depth decodes to its samples") {
  pfrt::test::PngSpec spec;
  spec.width = 3;
  spec.height = 2;
  for (uint32_t channels = 1; channels <= 4; ++channels) {
    CAPTURE(channels);
    spec.channels = channels;
    std::vector<uint8_t> samples(6 * channels);
    for (size_t i = 0; i < samples.size(); ++i) samples[i] = uint8_t(i * 41 + 3);
    spec.bit_depth = 8;
    for (const bool interlaced : {false, true}) {
      spec.interlaced = interlaced;
      const Image image = decode(pfrt::test::encode_png(spec, samples));
      CHECK(image.width == 3);
      CHECK(image.height == 2);
      CHECK(image.channels == channels);
      CHECK(image.pixels == samples);
    }
    spec.interlaced = false;
    // 16 bits: each sample v becomes round(v * 255 / 65535).
    spec.bit_depth = 16;
    std::vector<uint8_t> wide;
    std::vector<uint8_t> expected;
    for (size_t i = 0; i < samples.size(); ++i) {
      const uint32_t v = uint32_t(i * 9973 + 128) % 65536;
      wide.push_back(uint8_t(v >> 8));
      wide.push_back(uint8_t(v));
      expected.push_back(uint8_t((v * 255 + 32767) / 65535));
    }
    CHECK(decode(pfrt::test::encode_png(spec, wide)).pixels == expected);
  }
  // A palette becomes RGB, and RGBA where an entry is transparent (a tRNS chunk).
  spec.bit_depth = 8;
  spec.channels = 3;
  spec.palette = true;
  const std::vector<uint8_t> rgb = {1, 2, 3, 4, 5, 6, 1, 2, 3, 7, 8, 9, 4, 5, 6, 1, 2, 3};
  CHECK(decode(pfrt::test::encode_png(spec, rgb)).pixels == rgb);
  spec.transparent_index = 1;  // the second colour, {4, 5, 6}
  const Image with_alpha = decode(pfrt::test::encode_png(spec, rgb));
  CHECK(with_alpha.channels == 4);
  CHECK(with_alpha.pixels ==
        std::vector<uint8_t>{1, 2, 3, 255, 4, 5, 6, 0, 1, 2, 3, 255, 7, 8, 9, 255, 4, 5, 6, 0, 1, 2, 3, 255});
}

TEST_CASE("image: JPEG, grey and colour, baseline and progressive, decodes close to what was encoded") {
  const uint32_t w = 40, h = 24;
  for (const uint32_t channels : {1u, 3u}) {
    for (const bool progressive : {false, true}) {
      for (const bool subsample : {false, true}) {
        CAPTURE(channels);
        CAPTURE(progressive);
        CAPTURE(subsample);
        std::vector<uint8_t> pixels(size_t(w) * h * channels);
        for (size_t i = 0; i < pixels.size(); ++i)
          pixels[i] = uint8_t(60 + (i / channels % w) * 2 + (i % channels) * 40);
        pfrt::test::JpegSpec spec;
        spec.width = w;
        spec.height = h;
        spec.channels = channels;
        spec.quality = 95;
        spec.progressive = progressive;
        spec.subsample = subsample;
        const Image image = decode(pfrt::test::encode_jpeg(spec, pixels));
        CHECK(image.width == w);
        CHECK(image.height == h);
        CHECK(image.channels == channels);
        REQUIRE(image.pixels.size() == pixels.size());
        CHECK(max_difference(image.pixels, pixels) <= 6);  // a smooth image at quality 95
      }
    }
  }
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
  CHECK_THROWS_WITH_AS(decode(junk), "not a PNG, JPEG, PGM or PPM image (unknown signature)", ImageError);
  CHECK_THROWS_AS(decode_image(nullptr, 0), ImageError);
  CHECK_THROWS_WITH_AS(decode(bytes("P5\n3 2\n255\n", {0, 10})), "PGM/PPM pixel data is truncated (2 of 6 bytes)",
                       ImageError);
  CHECK_THROWS_WITH_AS(decode(bytes("P5\n100000 100000\n255\n", {0, 1, 2, 3})),
                       doctest::Contains("100000x100000 pixels is over the limit"), ImageError);
  CHECK_THROWS_AS(decode(bytes("P5\n20000 1\n255\n", {0})), ImageError);
  CHECK_THROWS_WITH_AS(decode(bytes("P5 # c\r99999999999 1\n255\n", {0})), "PGM/PPM header: the width is too large",
                       ImageError);
  CHECK_THROWS_WITH_AS(decode(bytes("P6\n1 1\n0\n", {0, 0, 0})), "PGM/PPM maximum value 0 is not in 1..65535",
                       ImageError);
  CHECK_THROWS_WITH_AS(decode(bytes("P2\n1 1\n255\n", {'0'})), doctest::Contains("plain (ASCII) PGM/PPM"), ImageError);
  CHECK_THROWS_WITH_AS(load_image("/nonexistent/x.png"), "/nonexistent/x.png: cannot open the file", ImageError);
}

TEST_CASE("image: formats other than PNG, JPEG, PGM and PPM do not reach a decoder") {
  CHECK_THROWS_WITH_AS(decode({'B', 'M', 0, 0, 0, 0}), "BMP is not supported: convert the image to PNG or JPEG",
                       ImageError);
  const std::string gif = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
  CHECK_THROWS_WITH_AS(decode(std::vector<uint8_t>(gif.begin(), gif.end())), doctest::Contains("unknown signature"),
                       ImageError);
}

TEST_CASE("image: the malformed-image corpus is refused, each file with its message and its name") {
  pfrt::test::TempDir dir;
  const std::vector<pfrt::test::MalformedImage> corpus = pfrt::test::malformed_images();
  REQUIRE(corpus.size() >= 10);
  for (const pfrt::test::MalformedImage& m : corpus) {
    CAPTURE(m.name);
    CHECK_THROWS_WITH_AS(decode(m.bytes), doctest::Contains(m.message.c_str()), ImageError);
    const std::string path = dir.write(m.name, m.bytes);
    CHECK_THROWS_WITH_AS(load_image(path), doctest::Contains((path + ": " + m.message).c_str()), ImageError);
  }
}
