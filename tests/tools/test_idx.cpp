// IDX reading: valid files (plain and gzip) and each kind of broken one.
#include <doctest/doctest.h>

#include <zlib.h>

#include <vector>

#include "idx.hpp"
#include "support/test_models.hpp"

using namespace pfrt::tools;

namespace {

std::vector<uint8_t> idx(uint8_t type, std::vector<uint32_t> dims, size_t body) {
  std::vector<uint8_t> b = {0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  }
  for (size_t i = 0; i < body; ++i) b.push_back(uint8_t(i * 7));
  return b;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, data.data(), unsigned(data.size())) == int(data.size()));
  gzclose(f);
}

}  // namespace

TEST_CASE("idx: parses dims and data") {
  const auto b = idx(0x08, {2, 3, 4}, 24);
  const IdxArray a = parse_idx(b.data(), b.size(), "x");
  CHECK(a.dims == std::vector<uint32_t>{2, 3, 4});
  REQUIRE(a.data.size() == 24);
  CHECK(a.data[5] == 35);
}

TEST_CASE("idx: broken headers are named") {
  const auto short_file = std::vector<uint8_t>{0, 0, 8};
  CHECK_THROWS_WITH_AS(parse_idx(short_file.data(), short_file.size(), "f"), "f: too short for an IDX header (3 bytes)",
                       IdxError);
  auto magic = idx(0x08, {2}, 2);
  magic[0] = 1;
  CHECK_THROWS_WITH_AS(parse_idx(magic.data(), magic.size(), "f"), doctest::Contains("not an IDX file"), IdxError);
  const auto floats = idx(0x0D, {2}, 8);
  CHECK_THROWS_WITH_AS(parse_idx(floats.data(), floats.size(), "f"), doctest::Contains("type 0x0d is not supported"),
                       IdxError);
  const auto wrong = idx(0x08, {2, 3}, 5);
  CHECK_THROWS_WITH_AS(parse_idx(wrong.data(), wrong.size(), "f"), "f: header says 6 bytes of data, the file has 5",
                       IdxError);
  auto cut = idx(0x08, {2, 3}, 0);
  cut.resize(7);
  CHECK_THROWS_WITH_AS(parse_idx(cut.data(), cut.size(), "f"), "f: header truncated", IdxError);
  const auto huge = idx(0x08, {65536, 65536}, 0);
  CHECK_THROWS_WITH_AS(parse_idx(huge.data(), huge.size(), "f"), doctest::Contains("more than 2 GiB"), IdxError);
}

TEST_CASE("idx: gzip and plain files give the same labelled set; mismatches are refused") {
  pfrt::test::TempDir dir;
  const auto images = idx(0x08, {3, 2, 2}, 12);
  const auto labels = idx(0x08, {3}, 3);
  write_gz(dir.file("images.gz"), images);
  const std::string plain_labels = dir.write("labels", labels);
  const LabelledImages set = read_labelled_images(dir.file("images.gz"), plain_labels);
  CHECK(set.count == 3);
  CHECK(set.height == 2);
  CHECK(set.width == 2);
  CHECK(set.channels == 1);
  CHECK(set.pixels == std::vector<uint8_t>(images.begin() + 16, images.end()));
  CHECK(set.labels == std::vector<uint8_t>{0, 7, 14});

  const std::string two_labels = dir.write("two", idx(0x08, {2}, 2));
  CHECK_THROWS_WITH_AS(read_labelled_images(dir.file("images.gz"), two_labels), doctest::Contains("has 3 images but"),
                       IdxError);
  CHECK_THROWS_WITH_AS(read_labelled_images(plain_labels, plain_labels), doctest::Contains("must have 3"), IdxError);
  CHECK_THROWS_WITH_AS(read_idx_file(dir.file("missing")), doctest::Contains("cannot open"), IdxError);
  // A corrupt gzip stream (valid header, garbage after it).
  std::vector<uint8_t> bad = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK_THROWS_AS(read_idx_file(dir.write("bad.gz", bad)), IdxError);
}
