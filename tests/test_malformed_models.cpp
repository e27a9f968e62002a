// A corpus of malformed model files, built here from valid ones: every kind of damage a file
// can suffer (cut short, foreign, from the future, inconsistent, hostile) must give its own
// status and a message naming the defect, through the file path and the buffer path alike,
// and never crash, hang or leak (this suite also runs under ASan+UBSan).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "model_writer.hpp"
#include "pfrt/pfrt.h"
#include "pfrt/pfrt.hpp"
#include "pfrt_generated.h"
#include "support/model_sections.hpp"
#include "support/test_models.hpp"

using namespace pfrt;
using Bytes = std::vector<uint8_t>;

namespace {

struct Outcome {
  pfrt_status status;
  std::string message;
};

// Opens through a file and through a buffer; both must fail (or succeed) the same way.
Outcome open_both(const Bytes& bytes) {
  test::TempDir dir;
  pfrt_model* model = nullptr;
  const pfrt_status from_file = pfrt_model_open(dir.write("m.pfrt", bytes).c_str(), &model);
  const std::string message = pfrt_last_error();
  pfrt_model_close(model);
  model = nullptr;
  const pfrt_status from_buffer =
      pfrt_model_open_buffer(bytes.empty() ? static_cast<const void*>("") : bytes.data(), bytes.size(), &model);
  const std::string buffer_message = pfrt_last_error();
  pfrt_model_close(model);
  if (!bytes.empty()) CHECK_MESSAGE(from_file == from_buffer, buffer_message);
  return {from_file, message};
}

format::ModelConfig tiny() { return test::tiny_config(); }

Bytes build(const format::ModelConfig& c, const std::vector<convert::WriterTensor>& tensors,
            const convert::WriterHeader& header = {}) {
  return convert::serialize_model(c, tensors, header);
}

// A tiny model whose config is changed by `edit` but whose tensors fit the unchanged config.
Bytes with_config(const std::function<void(format::ModelConfig&)>& edit) {
  format::ModelConfig c = tiny();
  edit(c);
  return build(c, test::random_tensors(tiny(), 1));
}

// A tiny model whose config and tensors agree after `edit` of the config.
Bytes consistent(const std::function<void(format::ModelConfig&)>& edit) {
  format::ModelConfig c = tiny();
  edit(c);
  return build(c, test::random_tensors(c, 1));
}

Bytes with_tensors(const std::function<void(std::vector<convert::WriterTensor>&)>& edit) {
  auto tensors = test::random_tensors(tiny(), 1);
  edit(tensors);
  return build(tiny(), tensors);
}

Bytes with_header(const std::function<void(convert::WriterHeader&)>& edit) {
  convert::WriterHeader h;
  edit(h);
  return build(tiny(), test::random_tensors(tiny(), 1), h);
}

convert::WriterTensor& named(std::vector<convert::WriterTensor>& tensors, const std::string& name) {
  for (auto& t : tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  throw std::logic_error("unreachable");
}

void set_float(convert::WriterTensor& t, size_t index, float value) {
  std::memcpy(t.data.data() + index * sizeof(float), &value, sizeof(float));
}

// Where field `vtable_offset` of the table at `table` is stored (the file must be valid).
size_t field_position(const Bytes& bytes, size_t table, flatbuffers::voffset_t vtable_offset) {
  int32_t to_vtable;
  std::memcpy(&to_vtable, bytes.data() + table, 4);
  const size_t vtable = size_t(int64_t(table) - to_vtable);
  uint16_t field;
  std::memcpy(&field, bytes.data() + vtable + vtable_offset, 2);
  REQUIRE(field != 0);
  return table + field;
}

size_t first_tensor_table(const Bytes& bytes) {
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  return size_t(reinterpret_cast<const uint8_t*>(m->tensors()->Get(0)) - bytes.data());
}

// Writes a little-endian u32 byte by byte through checked indexing (a memcpy through a pointer
// derived from a FlatBuffers table trips GCC 12's -Wstringop-overflow under ASan).
void put_u32(Bytes& bytes, size_t at, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) bytes.at(at + i) = uint8_t(value >> (8 * i));
}

const std::string kNormWeight = "paraformerbranches.branches.0.0.norm.weight";
const std::string kNormBias = "paraformerbranches.branches.1.1.norm.bias";

struct Case {
  const char* what;
  std::function<Bytes()> make;
  pfrt_status status;
  std::string fragment;
};

std::vector<Case> corpus() {
  const Bytes good = test::model_bytes(tiny());
  return {
      {"empty file", [] { return Bytes{}; }, PFRT_INVALID_MODEL, "empty file (0 bytes)"},
      {"shorter than the header", [] { return Bytes{8, 0, 0, 0, 'P', 'F', 'R'}; }, PFRT_INVALID_MODEL,
       "7 bytes is too short for a pfrt model header"},
      {"foreign identifier",
       [good] {
         Bytes b = good;
         std::memcpy(b.data() + 8, "ONNX", 4);
         return b;
       },
       PFRT_INVALID_MODEL, "not a pfrt model: file identifier is 'ONNX', expected 'PFRT'"},
      {"identifier written by another writer", [] { return with_header([](auto& h) { h.identifier = "PFRX"; }); },
       PFRT_INVALID_MODEL, "file identifier is 'PFRX'"},
      {"not size-prefixed", [] { return with_header([](auto& h) { h.size_prefixed = false; }); }, PFRT_INVALID_MODEL,
       "not a pfrt model: file identifier is '"},
      {"size prefix larger than the file",
       [good] {
         Bytes b = good;
         put_u32(b, 0, uint32_t(b.size()));
         return b;
       },
       PFRT_INVALID_MODEL, "truncated: the header records " + std::to_string(good.size() + 4)},
      {"trailing bytes",
       [good] {
         Bytes b = good;
         b.insert(b.end(), 64, 0xee);
         return b;
       },
       PFRT_INVALID_MODEL, "has 64 unexpected bytes after the"},
      {"root offset out of range",
       [good] {
         Bytes b = good;
         put_u32(b, 4, 0x7fff0000);
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: FlatBuffers verification failed"},
      {"tensor data offset out of range",
       [good] {
         Bytes b = good;
         put_u32(b, field_position(b, first_tensor_table(b), fb::Tensor::VT_DATA), 0x40000000);
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: FlatBuffers verification failed"},
      {"tensor data length out of range",
       [good] {
         Bytes b = good;
         const fb::Model* m = fb::GetSizePrefixedModel(b.data());
         put_u32(b, size_t(m->tensors()->Get(0)->data()->Data() - b.data()) - 4, 0xfffffff0u);
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: FlatBuffers verification failed"},
      {"tensor data length shortened in place",
       [good] {
         Bytes b = good;
         const fb::Model* m = fb::GetSizePrefixedModel(b.data());
         const fb::Tensor* t = m->tensors()->Get(1);
         put_u32(b, size_t(t->data()->Data() - b.data()) - 4, t->data()->size() - 4);
         return b;
       },
       PFRT_INVALID_MODEL, "tensor 'to_patch_embedding.1.bias' holds 60 bytes of data; shape [16] in f32 needs 64"},
      {"vtable offset out of range",
       [good] {
         Bytes b = good;
         put_u32(b, first_tensor_table(b), 0x7ffffff0);
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: FlatBuffers verification failed"},
      {"future format (min_reader_version 7)",
       [] {
         return with_header([](auto& h) {
           h.format_version = 7;
           h.min_reader_version = 7;
         });
       },
       PFRT_UNSUPPORTED, "written in pfrt format version 7, which needs a reader of version 7 or newer"},
      {"min_reader_version 0", [] { return with_header([](auto& h) { h.min_reader_version = 0; }); },
       PFRT_INVALID_MODEL, "format_version and min_reader_version must be at least 1"},
      {"zero branches", [] { return with_config([](auto& c) { c.branches = 0; }); }, PFRT_INVALID_MODEL,
       "config field 'branches' is 0: must be at least 1"},
      {"huge branch count", [] { return with_config([](auto& c) { c.branches = 1u << 20; }); }, PFRT_INVALID_MODEL,
       "config field 'branches' is 1048576: must be at most 1024"},
      {"a million blocks implied, a dozen present",
       [] {
         return with_config([](auto& c) {
           c.branches = 1024;
           c.blocks_per_branch = 1024;
         });
       },
       PFRT_INVALID_MODEL, "missing tensor 'paraformerbranches.branches.0.2.norm.weight' [16]"},
      {"zero heads", [] { return with_config([](auto& c) { c.heads = 0; }); }, PFRT_INVALID_MODEL,
       "config field 'heads' is 0: must be at least 1"},
      {"huge head count", [] { return with_config([](auto& c) { c.heads = 4096; }); }, PFRT_INVALID_MODEL,
       "config field 'heads' is 4096: must be at most 1024"},
      {"heads x head_dim too wide",
       [] {
         return with_config([](auto& c) {
           c.heads = 1024;
           c.head_dim = 1024;
         });
       },
       PFRT_INVALID_MODEL, "config field 'heads x head_dim' is 1048576"},
      {"too many channels", [] { return with_config([](auto& c) { c.channels = 65; }); }, PFRT_INVALID_MODEL,
       "config field 'channels' is 65: must be at most 64"},
      {"zero classes", [] { return with_config([](auto& c) { c.classes = 0; }); }, PFRT_INVALID_MODEL,
       "config field 'classes' is 0"},
      {"too many patches",
       [] {
         return with_config([](auto& c) {
           c.image_size = 4096;
           c.patch_size = 1;
         });
       },
       PFRT_INVALID_MODEL, "gives 16777216 patches; at most 16384 are supported"},
      {"patch wider than 2^20",
       [] {
         return with_config([](auto& c) {
           c.image_size = 2048;
           c.patch_size = 1024;
           c.channels = 2;
           c.mean = {0, 0};
           c.std = {1, 1};
         });
       },
       PFRT_INVALID_MODEL, "'patch_size^2 x channels' is 2097152"},
      {"layernorm_eps NaN",
       [] { return with_config([](auto& c) { c.layernorm_eps = std::numeric_limits<float>::quiet_NaN(); }); },
       PFRT_INVALID_MODEL, "'layernorm_eps' is nan: must be finite and positive"},
      {"layernorm_eps 0", [] { return with_config([](auto& c) { c.layernorm_eps = 0.0f; }); }, PFRT_INVALID_MODEL,
       "'layernorm_eps' is 0: must be finite and positive"},
      {"merge weights for the wrong branch count",
       [] { return with_config([](auto& c) {
              c.merge_weights = {1, 1, 1};
            }); }, PFRT_INVALID_MODEL,
       "'merge_weights' has 3 value(s) for 2 branch(es)"},
      {"infinite merge weight",
       [] { return with_config([](auto& c) {
              c.merge_weights = {1, std::numeric_limits<float>::infinity()};
            }); },
       PFRT_INVALID_MODEL, "'merge_weights'[1] is not finite"},
      {"mean for the wrong channel count", [] { return with_config([](auto& c) {
                                                  c.mean = {0.1f, 0.2f};
                                                }); },
       PFRT_INVALID_MODEL, "'mean' has 2 value(s); the model has 1 channel(s)"},
      {"negative std", [] { return with_config([](auto& c) { c.std = {-1.0f}; }); }, PFRT_INVALID_MODEL,
       "'std'[0] is -1: must be finite and positive"},
      {"unknown residual kind", [] { return with_config([](auto& c) { c.residual = format::Residual(5); }); },
       PFRT_UNSUPPORTED, "config field 'residual' has value 5"},
      {"unknown gelu kind", [] { return with_config([](auto& c) { c.gelu = format::Gelu(9); }); }, PFRT_UNSUPPORTED,
       "config field 'gelu' has value 9"},
      {"unknown training mode", [] { return with_config([](auto& c) { c.training = format::TrainingMode(3); }); },
       PFRT_UNSUPPORTED, "config field 'training' has value 3"},
      {"oversized label",
       [] {
         return consistent([](auto& c) {
           c.labels.assign(c.classes, "x");
           c.labels[3] = std::string(5000, 'y');
         });
       },
       PFRT_INVALID_MODEL, "label 3 is longer than 4096 bytes"},
      {"no tensors at all", [] { return build(tiny(), {}); }, PFRT_INVALID_MODEL,
       "missing tensor 'to_patch_embedding.1.weight' [16, 49]"},
      {"config with one more block than the tensors",
       [] { return with_config([](auto& c) { c.blocks_per_branch = 2; }); }, PFRT_INVALID_MODEL,
       "missing tensor 'paraformerbranches.branches.0.2.norm.weight'"},
      {"config with fewer branches than the tensors", [] { return with_config([](auto& c) { c.branches = 1; }); },
       PFRT_INVALID_MODEL, "unexpected tensor 'paraformerbranches.branches.1.0.fn.to_out.0.bias'"},
      {"head count disagrees with the QKV shape", [] { return with_config([](auto& c) { c.heads = 4; }); },
       PFRT_INVALID_MODEL,
       "tensor 'paraformerbranches.branches.0.0.fn.to_qkv.weight' has shape [48, 16], the config needs [96, 16]"},
      {"class count disagrees with the head", [] { return with_config([](auto& c) { c.classes = 11; }); },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.weight' has shape [10, 16], the config needs [11, 16]"},
      {"extra rank", [] { return with_tensors([](auto& t) {
                            named(t, "cls_token").shape = {1, 1, 1, 16};
                          }); },
       PFRT_INVALID_MODEL, "tensor 'cls_token' has shape [1, 1, 1, 16], the config needs [1, 1, 16]"},
      {"no shape", [] { return with_tensors([](auto& t) { named(t, "cls_token").shape = {}; }); }, PFRT_INVALID_MODEL,
       "tensor 'cls_token' has shape [], the config needs [1, 1, 16]"},
      {"dims whose product overflows 64 bits",
       [] {
         return with_tensors([](auto& t) { named(t, "mlp_head.1.bias").shape = {int64_t(1) << 40, int64_t(1) << 40}; });
       },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.bias' has shape [1099511627776, 1099511627776]"},
      {"negative dims", [] { return with_tensors([](auto& t) {
                               named(t, "mlp_head.1.bias").shape = {-2, -5};
                             }); },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.bias' has shape [-2, -5]"},
      {"data longer than the shape",
       [] { return with_tensors([](auto& t) { named(t, "mlp_head.1.bias").data.resize(44); }); }, PFRT_INVALID_MODEL,
       "tensor 'mlp_head.1.bias' holds 44 bytes of data; shape [10] in f32 needs 40"},
      {"no data", [] { return with_tensors([](auto& t) { named(t, "mlp_head.1.bias").data.clear(); }); },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.bias' holds 0 bytes of data"},
      {"unknown dtype", [] { return with_tensors([](auto& t) { named(t, "mlp_head.1.bias").dtype = 99; }); },
       PFRT_UNSUPPORTED, "tensor 'mlp_head.1.bias' has dtype 99, which this runtime does not know"},
      {"int8 weights in an f32 model",
       [] { return with_tensors([](auto& t) { named(t, "mlp_head.1.weight").dtype = int8_t(fb::DType::I8); }); },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.weight' has dtype I8; a model of precision f32 stores it as F32"},
      {"duplicate tensor", [] { return with_tensors([](auto& t) { t.push_back(named(t, "pos_embedding")); }); },
       PFRT_INVALID_MODEL, "tensor 'pos_embedding' appears twice"},
      {"tensor data pointing into another tensor's data",
       [good] {
         // mlp_head.0.weight's data vector moved to 64 bytes into pos_embedding's data; its length
         // field there reads 64, so sizes, bounds and alignment all hold: only the overlap is wrong.
         Bytes b = good;
         const fb::Model* m = fb::GetSizePrefixedModel(b.data());
         REQUIRE(m->tensors()->Get(4)->name()->str() == "mlp_head.0.weight");
         REQUIRE(m->tensors()->Get(3)->name()->str() == "pos_embedding");
         const size_t inside = size_t(m->tensors()->Get(3)->data()->Data() - b.data()) + 64;
         put_u32(b, inside - 4, 64);
         const size_t table = size_t(reinterpret_cast<const uint8_t*>(m->tensors()->Get(4)) - b.data());
         const size_t field = field_position(b, table, fb::Tensor::VT_DATA);
         REQUIRE(inside - 4 > field);
         put_u32(b, field, uint32_t(inside - 4 - field));
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: the data of two tensors overlap at file offset"},
      {"two tensors sharing one data vector", [] { return with_tensors([](auto& t) { t[5].shares_data_of = 4; }); },
       PFRT_INVALID_MODEL, "corrupt: the data of two tensors overlap at file offset"},
      {"shape vector not 8-byte aligned",
       [good] {
         // cls_token's shape field moved 4 bytes on, onto its first dim: a vector of length 1
         // (dim 0 is 1) whose int64 element is 4-byte aligned. The verifier checks only the
         // length's alignment.
         Bytes b = good;
         const fb::Model* m = fb::GetSizePrefixedModel(b.data());
         for (const fb::Tensor* t : *m->tensors()) {
           if (t->name()->str() != "cls_token") continue;
           REQUIRE(size_t(reinterpret_cast<const uint8_t*>(t->shape()->data()) - b.data()) % 8 == 0);
           const size_t table = size_t(reinterpret_cast<const uint8_t*>(t) - b.data());
           const size_t field = field_position(b, table, fb::Tensor::VT_SHAPE);
           uint32_t offset;
           std::memcpy(&offset, b.data() + field, 4);
           put_u32(b, field, offset + 4);
         }
         return b;
       },
       PFRT_INVALID_MODEL, "corrupt: the shape of tensor 'cls_token' is not 8-byte aligned"},
      {"data 16-byte aligned", [] { return with_header([](auto& h) { h.data_alignment = 16; }); }, PFRT_INVALID_MODEL,
       "is not 64-byte aligned"},
      {"NaN in a LayerNorm weight",
       [] { return with_tensors([](auto& t) { set_float(named(t, kNormWeight), 3, std::nanf("")); }); },
       PFRT_INVALID_MODEL, "tensor '" + kNormWeight + "' element 3 is NaN: weights must be finite"},
      {"+Inf in a LayerNorm bias",
       [] { return with_tensors([](auto& t) { set_float(named(t, kNormBias), 15, HUGE_VALF); }); }, PFRT_INVALID_MODEL,
       "tensor '" + kNormBias + "' element 15 is +infinity"},
      {"-Inf in the classifier",
       [] { return with_tensors([](auto& t) { set_float(named(t, "mlp_head.1.weight"), 0, -HUGE_VALF); }); },
       PFRT_INVALID_MODEL, "tensor 'mlp_head.1.weight' element 0 is -infinity"},
  };
}

}  // namespace

TEST_CASE("each malformed file gets its own status and message, through file and buffer") {
  const std::vector<Case> cases = corpus();
  CHECK(cases.size() >= 30);
  std::set<std::string> names;
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    CHECK(names.insert(c.what).second);
    const Outcome o = open_both(c.make());
    CHECK_MESSAGE(o.status == c.status, o.message);
    CHECK_MESSAGE(o.message.find(c.fragment) != std::string::npos, "message was: " << o.message);
  }
}

TEST_CASE("a file cut at any section boundary is reported truncated, with the sizes") {
  for (const format::ModelConfig& c : {tiny(), [] {
                                         auto d = tiny();
                                         d.labels = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
                                         d.merge_weights = {0.5f, 0.5f};
                                         return d;
                                       }()}) {
    convert::WriterHeader h;
    h.name = "cut";
    h.metadata = {{"k", "v"}};
    const Bytes good = build(c, test::random_tensors(c, 2), h);
    const std::vector<size_t> cuts = test::section_boundaries(good);
    CHECK(cuts.size() > 8 * 10);  // every tensor contributes several
    for (size_t cut : cuts) {
      CAPTURE(cut);
      const Bytes part(good.begin(), good.begin() + long(cut));
      const Outcome o = open_both(part);
      CHECK(o.status == PFRT_INVALID_MODEL);
      if (cut >= 12) {
        CHECK_MESSAGE(o.message.find("truncated: the header records " + std::to_string(good.size()) +
                                     " bytes but only " + std::to_string(cut) + " are present") != std::string::npos,
                      o.message);
      }
      // The same cut with a size prefix rewritten to match: the verifier must catch it.
      if (cut >= 12) {
        Bytes lying = part;
        put_u32(lying, 0, uint32_t(cut - 4));
        const Outcome l = open_both(lying);
        CHECK(l.status == PFRT_INVALID_MODEL);
        CHECK(!l.message.empty());
      }
    }
  }
}

TEST_CASE("NaN and infinity in weights: refused by the loader, documented in SECURITY.md") {
  // Only finiteness is checked: huge but finite weights load (their outputs may overflow).
  const Bytes huge = with_tensors([](auto& t) { set_float(named(t, kNormWeight), 0, 3e38f); });
  CHECK(open_both(huge).status == PFRT_OK);
}

TEST_CASE("a model file truncated, rewritten or deleted after open does not affect the model") {
  test::TempDir dir;
  const Bytes good = test::model_bytes(tiny(), 3);
  const std::string path = dir.write("m.pfrt", good);
  Model model = Model::open(path);
  Session session(model, {"reference", 1, 0});
  const std::vector<float> input = test::random_floats(2 * 784, 11);
  const std::vector<float> expected = session.run(input);

  REQUIRE(::truncate(path.c_str(), long(good.size() / 2)) == 0);  // a mapping would now SIGBUS
  CHECK(session.run(input) == expected);
  Session second(model, {"reference", 1, 0});  // sessions made afterwards read the same weights
  CHECK(second.run(input) == expected);

  REQUIRE(::truncate(path.c_str(), 0) == 0);
  dir.write("m.pfrt", Bytes(good.size(), 0xa5));  // same size, other bytes
  CHECK(session.run(input) == expected);
  REQUIRE(::unlink(path.c_str()) == 0);
  CHECK(second.run(input) == expected);

  // Opening the damaged file again reports it, of course.
  dir.write("m.pfrt", Bytes(good.begin(), good.begin() + long(good.size() / 2)));
  pfrt_model* again = nullptr;
  CHECK(pfrt_model_open(path.c_str(), &again) == PFRT_INVALID_MODEL);
  CHECK(again == nullptr);
}

TEST_CASE("a file whose size at open is not what can be read is reported, not trusted") {
  // sysfs attributes are regular files whose stat size (a page) is larger than what reading
  // them yields: the same situation as a model file cut short by another program between the
  // open and the read. Deterministic, where the kernel has sysfs.
  const std::string path = "/sys/devices/system/cpu/online";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
    MESSAGE("skipped: " << path << " is not a sysfs attribute here");
    return;
  }
  pfrt_model* model = nullptr;
  CHECK(pfrt_model_open(path.c_str(), &model) == PFRT_IO_ERROR);
  CHECK(model == nullptr);
  const std::string message = pfrt_last_error();
  CHECK_MESSAGE(message.find(path + ": the file shrank while it was read (" + std::to_string(st.st_size) +
                             " bytes at open, ") != std::string::npos,
                message);
}

TEST_CASE("a file that shrinks and grows while it is opened: each open fails cleanly or gets the whole model") {
  // Another thread empties the file and writes it back, or appends bytes and cuts them off, as
  // fast as it can, while this thread opens it again and again. Whatever is written is the
  // original bytes and every cut leaves a prefix of them (a cut *inside* the file is not made:
  // a read racing it may see the cut page or folio's tail zeroed, torn content that no loader
  // without a checksum can tell from another valid model; pfrt-convert replaces files by
  // rename). So an open either gives exactly the file's model or fails with a message naming
  // the file: empty, truncated, trailing bytes, shrank or grew while it was read.
  format::ModelConfig c = tiny();
  c.embed_dim = 64;
  c.head_dim = 32;
  c.mlp_dim = 128;
  c.branches = 4;
  c.merge_weights.clear();
  const Bytes good = test::model_bytes(c, 9);
  test::TempDir dir;
  const std::string path = dir.write("m.pfrt", good);
  const std::vector<float> input = test::random_floats(784, 12);
  std::vector<float> expected;
  {
    Model model = Model::open(path);
    Session session(model, {"reference", 1, 0});
    expected = session.run(input);
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0) return;
    const std::vector<uint8_t> extra(4096, 0x5a);
    for (unsigned i = 0; !stop.load(); ++i) {
      if (i % 8 == 0) {  // the slower change (ext4 writes an emptied file back to disk): less often
        if (::ftruncate(fd, 0) != 0) break;
        if (::pwrite(fd, good.data(), good.size(), 0) != ssize_t(good.size())) break;
      } else {
        if (::pwrite(fd, extra.data(), extra.size(), off_t(good.size())) != ssize_t(extra.size())) break;
        if (::ftruncate(fd, off_t(good.size())) != 0) break;
      }
    }
    ::close(fd);
  });
  int opened = 0, wrong = 0, unexplained = 0;
  std::map<std::string, int> failures;
  const std::vector<std::string> explanations = {"empty file (0 bytes)", "truncated: the header records",
                                                 "unexpected bytes after the", "the file shrank while it was read",
                                                 "the file grew while it was read"};
  for (int i = 0; i < 300; ++i) {
    pfrt_model* model = nullptr;
    const pfrt_status s = pfrt_model_open(path.c_str(), &model);
    if (s == PFRT_OK) {
      ++opened;
      pfrt_session* session = nullptr;
      std::vector<float> logits(10);
      pfrt_session_options o;
      pfrt_session_options_init(&o);
      o.backend = "reference";
      o.threads = 1;
      if (pfrt_session_create(model, &o, &session) != PFRT_OK ||
          pfrt_session_run(session, input.data(), input.size(), logits.data(), logits.size()) != PFRT_OK) {
        ++wrong;
        MESSAGE("an open model does not run: " << pfrt_last_error());
      } else if (logits != expected) {
        ++wrong;
        MESSAGE("an open model is not the file's model");
      }
      pfrt_session_destroy(session);
      pfrt_model_close(model);
      continue;
    }
    const std::string message = pfrt_last_error();
    const auto explained = std::find_if(explanations.begin(), explanations.end(),
                                        [&](const std::string& e) { return message.find(e) != std::string::npos; });
    if (model != nullptr || message.find(path) == std::string::npos || explained == explanations.end() ||
        (s != PFRT_IO_ERROR && s != PFRT_INVALID_MODEL)) {
      ++unexplained;
      MESSAGE("unexplained: " << pfrt_status_string(s) << ": " << message);
    } else {
      ++failures[*explained];
    }
  }
  stop.store(true);
  writer.join();
  CHECK(wrong == 0);
  CHECK(unexplained == 0);
  std::string tally = "opened " + std::to_string(opened);
  for (const auto& [what, n] : failures) tally += "; " + what + ": " + std::to_string(n);
  MESSAGE(tally);
  // After the writer stopped the file is whole again (or empty; make it whole) and opens.
  dir.write("m.pfrt", good);
  CHECK(Model::open(path).info().branches == 4);
}
