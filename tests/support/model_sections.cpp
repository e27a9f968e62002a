#include "support/model_sections.hpp"

#include <algorithm>
#include <cstring>

#include "pfrt_generated.h"

namespace pfrt::test {

namespace {

class Boundaries {
 public:
  explicit Boundaries(const std::vector<uint8_t>& bytes) : base_(bytes.data()), size_(bytes.size()) {}

  void at(const void* p) { add(size_t(static_cast<const uint8_t*>(p) - base_)); }
  void table(const flatbuffers::Table* t) {
    if (t == nullptr) return;
    const auto* p = reinterpret_cast<const uint8_t*>(t);
    at(p);
    // The vtable lies at the table's position minus the signed offset stored there.
    flatbuffers::soffset_t to_vtable;
    std::memcpy(&to_vtable, p, sizeof(to_vtable));
    at(p - to_vtable);
  }
  template <typename V>
  void vector(const V* v) {  // length field, first element, one past the last
    if (v == nullptr) return;
    at(v);
    at(v->Data());
    at(v->Data() + v->size() * sizeof(typename V::return_type));
  }
  void string(const flatbuffers::String* s) {
    if (s == nullptr) return;
    at(s);
    at(s->c_str());
    at(s->c_str() + s->size());
  }
  void add(size_t offset) {
    if (offset > 0 && offset < size_) offsets_.push_back(offset);
  }
  std::vector<size_t> sorted() {
    std::sort(offsets_.begin(), offsets_.end());
    offsets_.erase(std::unique(offsets_.begin(), offsets_.end()), offsets_.end());
    return offsets_;
  }

 private:
  const uint8_t* base_;
  size_t size_;
  std::vector<size_t> offsets_;
};

}  // namespace

std::vector<size_t> section_boundaries(const std::vector<uint8_t>& bytes) {
  Boundaries b(bytes);
  b.add(4);   // after the size prefix
  b.add(8);   // after the root offset
  b.add(12);  // after the file identifier
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  b.table(reinterpret_cast<const flatbuffers::Table*>(m));
  for (const flatbuffers::String* s : {m->producer(), m->producer_version(), m->source_sha256(), m->name()})
    b.string(s);
  const fb::Config* c = m->config();
  b.table(reinterpret_cast<const flatbuffers::Table*>(c));
  b.vector(c->merge_weights());
  b.vector(c->mean());
  b.vector(c->std());
  if (c->labels()) {
    b.at(c->labels());
    for (const flatbuffers::String* l : *c->labels()) b.string(l);
  }
  if (m->tensors()) {
    b.at(m->tensors());
    for (const fb::Tensor* t : *m->tensors()) {
      b.table(reinterpret_cast<const flatbuffers::Table*>(t));
      b.string(t->name());
      b.vector(t->shape());
      b.vector(t->data());
    }
  }
  if (m->metadata()) {
    b.at(m->metadata());
    for (const fb::KeyValue* kv : *m->metadata()) {
      b.table(reinterpret_cast<const flatbuffers::Table*>(kv));
      b.string(kv->key());
      b.string(kv->value());
    }
  }
  return b.sorted();
}

}  // namespace pfrt::test
