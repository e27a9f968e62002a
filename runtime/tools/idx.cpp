#include "idx.hpp"

#include <zlib.h>

#include <cstdio>
#include <memory>

#include "input_file.hpp"

namespace pfrt::tools {

IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size < 4) throw IdxError(name + ": too short for an IDX header (" + std::to_string(size) + " bytes)");
  if (bytes[0] != 0 || bytes[1] != 0) throw IdxError(name + ": not an IDX file (the first two bytes must be zero)");
  if (bytes[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof(type), "0x%02x", unsigned{bytes[2]});
    throw IdxError(name + ": IDX element type " + type + " is not supported (only unsigned bytes, 0x08)");
  }
  const uint32_t ndim = bytes[3];
  if (ndim == 0 || ndim > 4)
    throw IdxError(name + ": IDX with " + std::to_string(ndim) + " dimensions (1 to 4 supported)");
  if (size < 4 + 4 * size_t(ndim)) throw IdxError(name + ": header truncated");
  IdxArray a;
  uint64_t count = 1;
  for (uint32_t i = 0; i < ndim; ++i) {
    const uint8_t* p = bytes + 4 + 4 * i;
    const uint32_t d = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
    a.dims.push_back(d);
    count *= d;
    if (count > kMaxIdxBytes) throw IdxError(name + ": IDX dimensions describe more than 2 GiB");
  }
  const size_t body = size - 4 - 4 * size_t(ndim);
  if (body != count) {
    throw IdxError(name + ": header says " + std::to_string(count) + " bytes of data, the file has " +
                   std::to_string(body));
  }
  a.data.assign(bytes + 4 + 4 * ndim, bytes + size);
  return a;
}

IdxArray read_idx_file(const std::string& path) {
  if (std::string why = convert::unreadable_reason(path); !why.empty()) throw IdxError(path + ": " + why);
  // gzread reads plain files unchanged, so one path serves both.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), &gzclose);
  if (!f) throw IdxError(path + ": cannot open the file");
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const int n = gzread(f.get(), chunk, sizeof(chunk));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(f.get(), &err);
      throw IdxError(path + ": cannot read (" + (msg ? msg : "read error") + ")");
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
    if (bytes.size() > kMaxIdxBytes) throw IdxError(path + ": more than 2 GiB of data");
  }
  return parse_idx(bytes.data(), bytes.size(), path);
}

LabelledImages read_labelled_images(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx_file(images_path);
  IdxArray labels = read_idx_file(labels_path);
  if (images.dims.size() != 3 && images.dims.size() != 4) {
    throw IdxError(images_path + ": images must have 3 (N, H, W) or 4 (N, H, W, C) dimensions, not " +
                   std::to_string(images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    throw IdxError(labels_path + ": labels must have 1 dimension, not " + std::to_string(labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw IdxError(images_path + " has " + std::to_string(images.dims[0]) + " images but " + labels_path + " has " +
                   std::to_string(labels.dims[0]) + " labels");
  }
  LabelledImages set;
  set.name = images_path;
  set.count = images.dims[0];
  set.height = images.dims[1];
  set.width = images.dims[2];
  set.channels = images.dims.size() == 4 ? images.dims[3] : 1;
  if (set.count > 0 && (set.height == 0 || set.width == 0 || set.channels == 0)) {
    throw IdxError(images_path + ": images of zero size");
  }
  set.pixels = std::move(images.data);
  set.labels = std::move(labels.data);
  return set;
}

}  // namespace pfrt::tools
