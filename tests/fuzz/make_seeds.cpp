// Writes the fuzzers' seed corpora (nothing large is committed): valid models of several
// shapes made by the converter's writer and their truncations at section boundaries, valid
// safetensors files of every dtype the reader knows, config.json texts and, where the tools
// are built (PFRT_FUZZ_IMAGE_SEEDS), small images in every format and variant pfrt-run decodes.
//   pfrt_fuzz_seeds <folder>  ->  <folder>/model, <folder>/safetensors, <folder>/config_json, <folder>/image
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "model_writer.hpp"
#include "output_file.hpp"
#ifdef PFRT_FUZZ_IMAGE_SEEDS
#include "support/image_files.hpp"
#endif
#include "support/model_sections.hpp"
#include "support/test_models.hpp"

namespace {

using pfrt::format::ModelConfig;

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
  pfrt::convert::write_output_file(path, bytes);
}

void make_folder(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) throw std::runtime_error("cannot create " + path);
}

std::vector<ModelConfig> shapes() {
  std::vector<ModelConfig> out;
  ModelConfig c = pfrt::test::tiny_config();
  out.push_back(c);
  c.branches = 3;
  c.blocks_per_branch = 2;
  c.pooling = pfrt::format::Pooling::kMean;
  c.residual = pfrt::format::Residual::kPreNorm;
  c.merge_weights = {0.5f, 1.0f, 2.0f};
  out.push_back(c);
  c = pfrt::test::tiny_config();
  c.heads = 1;
  c.head_dim = c.embed_dim;  // no output projection
  c.gelu = pfrt::format::Gelu::kTanh;
  c.training = pfrt::format::TrainingMode::kProgressive;
  c.classes = 3;
  c.labels = {"cat", "dog", "robot"};
  out.push_back(c);
  c = pfrt::test::tiny_config();
  c.image_size = 8;
  c.channels = 3;
  c.patch_size = 4;
  c.embed_dim = 8;
  c.heads = 2;
  c.head_dim = 4;
  c.mlp_dim = 8;
  c.branches = 1;
  c.classes = 2;
  c.mean = {0.1f, 0.2f, 0.3f};
  c.std = {0.5f, 0.5f, 0.5f};
  out.push_back(c);
  return out;
}

std::vector<uint8_t> text_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::vector<uint8_t> raw(const std::vector<float>& values, size_t width) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint8_t b[8] = {};
    if (width == 4) {
      std::memcpy(b, &v, 4);
    } else if (width == 8) {
      const double d = v;
      std::memcpy(b, &d, 8);
    } else {  // BF16: the upper half of the f32 bits
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      b[0] = uint8_t(bits >> 16);
      b[1] = uint8_t(bits >> 24);
    }
    out.insert(out.end(), b, b + width);
  }
  return out;
}

#ifdef PFRT_FUZZ_IMAGE_SEEDS
// Small images in every variant the decoders take: PNG of each channel count at 8 and 16 bits,
// palette (with a transparent entry), interlaced; JPEG grey and colour, 4:2:0 and 4:4:4,
// baseline and progressive; binary PGM/PPM with 8- and 16-bit samples; and a BMP, refused.
void write_image_seeds(const std::string& folder) {
  const uint32_t w = 7, h = 5;
  auto pattern = [&](uint32_t channels, uint32_t bytes_per_sample) {
    std::vector<uint8_t> pixels(size_t(w) * h * channels * bytes_per_sample);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37 + channels * 11);
    return pixels;
  };
  for (uint32_t channels = 1; channels <= 4; ++channels) {
    pfrt::test::PngSpec png;
    png.width = w;
    png.height = h;
    png.channels = channels;
    const std::string stem = folder + "/c" + std::to_string(channels);
    write(stem + ".png", pfrt::test::encode_png(png, pattern(channels, 1)));
    png.bit_depth = 16;
    write(stem + "-16.png", pfrt::test::encode_png(png, pattern(channels, 2)));
    png.bit_depth = 8;
    png.interlaced = true;
    write(stem + "-interlaced.png", pfrt::test::encode_png(png, pattern(channels, 1)));
    if (channels == 3) {
      png.interlaced = false;
      png.palette = true;
      png.transparent_index = 2;
      write(stem + "-palette.png", pfrt::test::encode_png(png, pattern(channels, 1)));
    }
    if (channels == 2 || channels == 4) continue;
    pfrt::test::JpegSpec jpeg;
    jpeg.width = w * 3;  // more than one 8x8 block a row
    jpeg.height = h * 3;
    jpeg.channels = channels;
    std::vector<uint8_t> pixels(size_t(jpeg.width) * jpeg.height * channels);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7 + (i / 31) * 5);
    write(stem + ".jpg", pfrt::test::encode_jpeg(jpeg, pixels));
    jpeg.progressive = true;
    write(stem + "-progressive.jpg", pfrt::test::encode_jpeg(jpeg, pixels));
    jpeg.progressive = false;
    jpeg.subsample = false;
    jpeg.quality = 75;
    if (channels == 3) write(stem + "-444.jpg", pfrt::test::encode_jpeg(jpeg, pixels));
  }
  write(folder + "/c3.bmp",
        {'B', 'M', 58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24,
         0,   0,   0,  0, 0, 4, 0, 0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  for (const pfrt::test::MalformedImage& m : pfrt::test::malformed_images()) write(folder + "/" + m.name, m.bytes);
  for (const char* kind : {"P5", "P6"}) {
    for (int maxval : {255, 65535}) {
      const uint32_t channels = kind[1] == '6' ? 3 : 1, sample = maxval > 255 ? 2 : 1;
      const std::string header = std::string(kind) + "\n# seed\n" + std::to_string(w) + " " + std::to_string(h) + "\n" +
                                 std::to_string(maxval) + "\n";
      std::vector<uint8_t> bytes(header.begin(), header.end());
      const std::vector<uint8_t> body = pattern(channels, sample);
      bytes.insert(bytes.end(), body.begin(), body.end());
      write(folder + "/" + kind + "-" + std::to_string(maxval) + (channels == 3 ? ".ppm" : ".pgm"), bytes);
    }
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output folder>\n", argv[0]);
    return 2;
  }
  try {
    const std::string root = argv[1];
    make_folder(root);
    for (const char* sub : {"/model", "/safetensors", "/config_json", "/image"}) make_folder(root + sub);
#ifdef PFRT_FUZZ_IMAGE_SEEDS
    write_image_seeds(root + "/image");
#endif

    int n = 0;
    for (const ModelConfig& c : shapes()) {
      pfrt::convert::WriterHeader header;
      header.name = "seed-" + std::to_string(n);
      header.producer_version = "0.1.0";
      header.metadata = {{"license", "CC0"}, {"source", "fuzz seed"}};
      std::vector<pfrt::convert::WriterTensor> tensors = pfrt::test::random_tensors(c, uint32_t(n + 1));
      const std::vector<uint8_t> model = pfrt::convert::serialize_model(c, tensors, header);
      write(root + "/model/valid-" + std::to_string(n) + ".pfrt", model);
      if (n == 0) {
        // Truncations at each section boundary of the first (smallest) shape.
        for (size_t cut : pfrt::test::section_boundaries(model)) {
          write(root + "/model/cut-" + std::to_string(cut) + ".pfrt",
                std::vector<uint8_t>(model.begin(), model.begin() + long(cut)));
        }
      }
      write(root + "/safetensors/valid-" + std::to_string(n) + ".safetensors",
            pfrt::test::safetensors_bytes(pfrt::test::raw_tensors(c, uint32_t(n + 1))));
      write(root + "/config_json/config-" + std::to_string(n) + ".json",
            text_bytes(pfrt::test::config_json_text(c, header.name)));
      ++n;
    }
    // Every dtype the safetensors reader converts, and shapes with zero and many dims.
    const std::vector<float> values = pfrt::test::random_floats(6, 99);
    write(root + "/safetensors/dtypes.safetensors",
          pfrt::test::safetensors_bytes({{"a", "F32", {2, 3}, raw(values, 4)},
                                         {"b", "F64", {6}, raw(values, 8)},
                                         {"c", "BF16", {3, 2}, raw(values, 2)},
                                         {"d", "F16", {1, 1, 1, 2}, {0x00, 0x3c, 0x00, 0xfc}},
                                         {"e", "F32", {0}, {}},
                                         {"f", "F32", {}, raw({1.5f}, 4)}}));
    std::fprintf(stdout, "pfrt_fuzz_seeds: wrote seed corpora under %s\n", root.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfrt_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
