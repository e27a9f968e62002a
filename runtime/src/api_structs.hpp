// The C API's structs as far as the caller's struct_size reaches: a program built against an
// older header passes a shorter struct, one built against a newer header a longer one. The
// library reads and writes only those bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "error.hpp"
#include "pfrt_version.hpp"

namespace pfrt::api {

// No pfrt struct is near this large: a larger struct_size is unset or corrupt.
inline constexpr uint32_t kMaxStructSize = 4096;

// Sets struct_size and zeroes the rest, padding included (a newer library reads a longer
// struct's unknown bytes as zero): every _init function.
template <typename T>
void init_struct(T* s) {
  if (s == nullptr) return;
  std::memset(static_cast<void*>(s), 0, sizeof(T));
  s->struct_size = uint32_t(sizeof(T));
}

// The caller's struct_size, checked; `what` names the struct ("pfrt_run_options").
template <typename T>
uint32_t struct_size_of(const T& s, const std::string& what) {
  const uint32_t size = s.struct_size;
  if (size < sizeof(uint32_t)) {
    core::fail(PFRT_INVALID_ARGUMENT, what + ".struct_size is not set (call " + what + "_init)");
  }
  if (size > kMaxStructSize) {
    core::fail(PFRT_INVALID_ARGUMENT,
               what + ".struct_size " + std::to_string(size) + " is no size of this struct (call " + what + "_init)");
  }
  return size;
}

// A struct the caller fills (NULL: `defaults`): the bytes its struct_size covers, the rest as
// `defaults` (what _init sets). Bytes past the fields this library knows must be zero: a field
// of a newer header that is set asks for something this library cannot do.
template <typename T>
T read_struct(const T* s, const T& defaults, const std::string& what) {
  T out = defaults;
  if (s == nullptr) return out;
  const uint32_t size = struct_size_of(*s, what);
  std::memcpy(&out, s, std::min<size_t>(size, sizeof(T)));
  const auto* bytes = reinterpret_cast<const unsigned char*>(s);
  if (size > sizeof(T) && std::any_of(bytes + sizeof(T), bytes + size, [](unsigned char b) { return b != 0; })) {
    core::fail(PFRT_UNSUPPORTED, what + " sets fields that pfrt " PFRT_VERSION_STRING " does not know (struct_size " +
                                     std::to_string(size) + ", of which it knows " + std::to_string(sizeof(T)) +
                                     " bytes): this program needs a newer libpfrt");
  }
  out.struct_size = uint32_t(sizeof(T));
  return out;
}

// Writes `value` into a struct the caller receives, as far as its struct_size reaches (checked
// first with struct_size_of); bytes past the fields this library knows are zeroed. The caller's
// struct_size is left as it was.
template <typename T>
void write_struct(T* s, const T& value, uint32_t size) {
  const size_t n = std::min<size_t>(size, sizeof(T));
  auto* bytes = reinterpret_cast<unsigned char*>(s);
  const auto* from = reinterpret_cast<const unsigned char*>(&value);
  std::memcpy(bytes + sizeof(uint32_t), from + sizeof(uint32_t), n - sizeof(uint32_t));
  if (size > sizeof(T)) std::memset(bytes + sizeof(T), 0, size - sizeof(T));
}

}  // namespace pfrt::api
