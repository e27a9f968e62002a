// Model::open on broken files: every defect gets its own status and a message naming it, and
// nothing crashes or reads out of bounds (this suite also runs under AddressSanitizer).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstring>

#include "model_writer.hpp"
#include "pfrt/pfrt.h"
#include "pfrt_generated.h"
#include "support/test_models.hpp"

using namespace pfrt;
using test::TempDir;

namespace {

struct Outcome {
  pfrt_status status;
  std::string message;
};

Outcome open_bytes(const std::vector<uint8_t>& bytes) {
  // Through a file (read into memory) and through a buffer: both must agree.
  TempDir dir;
  pfrt_model* model = nullptr;
  const pfrt_status from_file = pfrt_model_open(dir.write("m.pfrt", bytes).c_str(), &model);
  const std::string file_message = pfrt_last_error();
  pfrt_model_close(model);
  model = nullptr;
  const pfrt_status from_buffer = pfrt_model_open_buffer(bytes.data(), bytes.size(), &model);
  pfrt_model_close(model);
  CHECK(from_file == from_buffer);
  return {from_file, file_message};
}

std::vector<uint8_t> build(const format::ModelConfig& c, std::vector<convert::WriterTensor> tensors,
                           const convert::WriterHeader& header = {}) {
  return convert::serialize_model(c, tensors, header);
}

void expect(const Outcome& o, pfrt_status status, const std::string& fragment) {
  CHECK_MESSAGE(o.status == status, o.message);
  CHECK_MESSAGE(o.message.find(fragment) != std::string::npos, "message was: " << o.message);
}

}  // namespace

TEST_CASE("a valid model opens, from a file and from a buffer") {
  const auto bytes = test::model_bytes(test::tiny_config());
  const Outcome o = open_bytes(bytes);
  CHECK(o.status == PFRT_OK);
  CHECK(o.message.empty());
}

TEST_CASE("files that cannot be read") {
  TempDir dir;
  pfrt_model* model = nullptr;
  CHECK(pfrt_model_open(dir.file("absent.pfrt").c_str(), &model) == PFRT_IO_ERROR);
  CHECK(std::string(pfrt_last_error()).find("absent.pfrt: cannot open: No such file") != std::string::npos);
  CHECK(model == nullptr);
  CHECK(pfrt_model_open(dir.path().c_str(), &model) == PFRT_IO_ERROR);
  CHECK(std::string(pfrt_last_error()).find("not a regular file") != std::string::npos);
  expect(open_bytes({}), PFRT_INVALID_MODEL, "empty file");
}

TEST_CASE("envelope defects: short, foreign, truncated, padded, unprefixed") {
  const auto good = test::model_bytes(test::tiny_config());
  expect(open_bytes({1, 2, 3, 4, 5}), PFRT_INVALID_MODEL, "too short for a pfrt model header");

  auto foreign = good;
  std::memcpy(foreign.data() + 8, "TFL3", 4);
  expect(open_bytes(foreign), PFRT_INVALID_MODEL, "not a pfrt model: file identifier is 'TFL3', expected 'PFRT'");

  auto png = std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  expect(open_bytes(png), PFRT_INVALID_MODEL, "not a pfrt model: file identifier is '\\x00\\x00\\x00\\x0d'");

  // Truncated anywhere past the identifier: at every 1/16 of the file and right after it.
  for (size_t cut = 12; cut < good.size(); cut += good.size() / 16) {
    CAPTURE(cut);
    expect(open_bytes(std::vector<uint8_t>(good.begin(), good.begin() + long(cut))), PFRT_INVALID_MODEL,
           "truncated: the header records " + std::to_string(good.size()) + " bytes but only " + std::to_string(cut));
  }
  expect(open_bytes(std::vector<uint8_t>(good.begin(), good.end() - 1)), PFRT_INVALID_MODEL, "truncated");

  auto padded = good;
  padded.resize(good.size() + 10);
  expect(open_bytes(padded), PFRT_INVALID_MODEL, "has 10 unexpected bytes after the");

  convert::WriterHeader unprefixed;
  unprefixed.size_prefixed = false;
  expect(open_bytes(build(test::tiny_config(), test::random_tensors(test::tiny_config(), 1), unprefixed)),
         PFRT_INVALID_MODEL, "not a pfrt model");
}

TEST_CASE("a corrupt offset inside the file fails FlatBuffers verification") {
  auto bytes = test::model_bytes(test::tiny_config());
  // Make the first tensor's data vector claim to run far past the end of the file.
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  const uint8_t* data = m->tensors()->Get(0)->data()->data();
  const size_t length_at = size_t(data - bytes.data()) - 4;
  const uint32_t huge = 0x7ffffff0;
  std::memcpy(bytes.data() + length_at, &huge, 4);
  expect(open_bytes(bytes), PFRT_INVALID_MODEL, "corrupt: FlatBuffers verification failed");
}

TEST_CASE("versions: newer files are refused with advice, zero versions are corrupt") {
  convert::WriterHeader newer;
  newer.format_version = 3;
  newer.min_reader_version = 2;
  const auto c = test::tiny_config();
  expect(open_bytes(build(c, test::random_tensors(c, 1), newer)), PFRT_UNSUPPORTED,
         "written in pfrt format version 3, which needs a reader of version 2 or newer; this runtime reads format "
         "version 1: upgrade pfrt");

  convert::WriterHeader forward_compatible;
  forward_compatible.format_version = 2;  // newer writer, but readable by version 1
  forward_compatible.min_reader_version = 1;
  CHECK(open_bytes(build(c, test::random_tensors(c, 1), forward_compatible)).status == PFRT_OK);

  convert::WriterHeader zero;
  zero.format_version = 0;
  expect(open_bytes(build(c, test::random_tensors(c, 1), zero)), PFRT_INVALID_MODEL,
         "format_version and min_reader_version must be at least 1");
}

TEST_CASE("config defects are named") {
  auto c = test::tiny_config();
  c.patch_size = 5;
  expect(open_bytes(build(c, {})), PFRT_INVALID_MODEL, "'image_size' (28) is not a multiple of 'patch_size' (5)");

  c = test::tiny_config();
  c.branches = 0;
  expect(open_bytes(build(c, {})), PFRT_INVALID_MODEL, "config field 'branches' is 0");

  c = test::tiny_config();
  c.heads = 100000;
  expect(open_bytes(build(c, {})), PFRT_INVALID_MODEL, "config field 'heads' is 100000: must be at most 1024");

  c = test::tiny_config();
  c.labels = {"only one"};
  expect(open_bytes(build(c, test::random_tensors(c, 1))), PFRT_INVALID_MODEL, "'labels' has 1 entries for 10 classes");

  c = test::tiny_config();
  c.std = {0.0f};
  expect(open_bytes(build(c, test::random_tensors(c, 1))), PFRT_INVALID_MODEL, "'std'[0] is 0");

  c = test::tiny_config();
  c.pooling = format::Pooling(7);
  expect(open_bytes(build(c, test::random_tensors(test::tiny_config(), 1))), PFRT_UNSUPPORTED,
         "config field 'pooling' has value 7");
}

TEST_CASE("tensor defects are named") {
  const auto c = test::tiny_config();
  auto tensors = test::random_tensors(c, 1);

  SUBCASE("missing") {
    tensors.pop_back();
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL,
           "missing tensor 'paraformerbranches.branches.1.1.fn.net.3.bias' [16]");
  }
  SUBCASE("unexpected") {
    tensors.push_back(convert::f32_tensor("extra.weight", {2}, {1, 2}));
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL, "unexpected tensor 'extra.weight'");
  }
  SUBCASE("duplicate") {
    tensors.push_back(tensors[2]);
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL, "tensor 'cls_token' appears twice");
  }
  SUBCASE("shape disagrees with the config") {
    tensors[3].shape = {1, 16, 17};
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL,
           "tensor 'pos_embedding' has shape [1, 16, 17], the config needs [1, 17, 16]");
  }
  SUBCASE("data shorter than the shape") {
    tensors[1].data.resize(tensors[1].data.size() - 4);
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL,
           "tensor 'to_patch_embedding.1.bias' holds 60 bytes of data; shape [16] in f32 needs 64");
  }
  SUBCASE("shape whose element count overflows") {
    tensors[1].shape = {int64_t(1) << 62, 16};
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL, "tensor 'to_patch_embedding.1.bias' has shape");
  }
  SUBCASE("a dtype this runtime does not run") {
    tensors[4].dtype = int8_t(fb::DType::F16);
    expect(open_bytes(build(c, tensors)), PFRT_UNSUPPORTED, "tensor 'mlp_head.0.weight' has dtype F16");
  }
  SUBCASE("two tensors sharing their data") {
    tensors[5].shares_data_of = 4;  // mlp_head.0.bias reuses mlp_head.0.weight's bytes (same size)
    expect(open_bytes(build(c, tensors)), PFRT_INVALID_MODEL, "corrupt: the data of two tensors overlap");
  }
}

TEST_CASE("tensor data that is not 64-byte aligned is refused") {
  const auto c = test::tiny_config();
  convert::WriterHeader header;
  header.data_alignment = 4;
  auto tensors = test::random_tensors(c, 1);
  const auto bytes = build(c, tensors, header);
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  bool some_misaligned = false;
  for (const fb::Tensor* t : *m->tensors()) some_misaligned |= (t->data()->data() - bytes.data()) % 64 != 0;
  REQUIRE(some_misaligned);  // the premise of the test
  expect(open_bytes(bytes), PFRT_INVALID_MODEL, "-byte aligned");
}
