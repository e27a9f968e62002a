// Writes what pfrt-run makes of image files, for test_preprocess.py to compare with its own
// decoding (PIL) and preprocessing (PyTorch/NumPy):
//
//   pfrt_preprocess_dump OUT SIZE MEANS STDS RESIZE IMAGE...
//
// A model of SIZE x SIZE with one channel per comma-separated MEANS/STDS value (random weights:
// only its input shape and normalisation matter) is built in memory; RESIZE is auto, bilinear
// or area, as pfrt-run's --resize. For each IMAGE k (from 0) in turn it appends to OUT.u8 the
// decoded pixels (height x width x channels) and to OUT.f32 the model input that model_input()
// makes of them (float32, channels x SIZE x SIZE, little-endian), and prints
// "k WIDTH HEIGHT CHANNELS". An image pfrt refuses prints "k error MESSAGE" and adds nothing.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "classify.hpp"
#include "image.hpp"
#include "support/test_models.hpp"

namespace {

std::vector<float> floats(const std::string& text) {
  std::vector<float> v;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) v.push_back(std::stof(item));
  return v;
}

struct File {
  explicit File(const std::string& path) : name(path), f(std::fopen(path.c_str(), "wb")) {
    if (!f) throw std::runtime_error(path + ": cannot create");
  }
  ~File() {
    if (f) std::fclose(f);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  void write(const void* data, size_t size) {
    if (std::fwrite(data, 1, size, f) != size) throw std::runtime_error(name + ": cannot write");
  }
  void close() {
    const int rc = std::fclose(f);
    f = nullptr;
    if (rc != 0) throw std::runtime_error(name + ": cannot write");
  }
  std::string name;
  std::FILE* f;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: pfrt_preprocess_dump OUT_DIR SIZE MEANS STDS auto|bilinear|area IMAGE...\n");
    return 2;
  }
  try {
    const std::string out = argv[1];
    pfrt::format::ModelConfig cfg = pfrt::test::tiny_config();
    cfg.image_size = uint32_t(std::stoul(argv[2]));
    cfg.patch_size = cfg.image_size;  // one patch: any size works
    cfg.mean = floats(argv[3]);
    cfg.std = floats(argv[4]);
    cfg.channels = uint32_t(cfg.mean.size());
    const std::vector<uint8_t> bytes = pfrt::test::model_bytes(cfg);
    const pfrt::Model model = pfrt::Model::from_buffer(bytes.data(), bytes.size());

    const std::string filter = argv[5];
    pfrt::tools::Preprocess pre;  // auto
    if (filter == "bilinear") pre = {pfrt::tools::ResizeFilter::kBilinear, false};
    else if (filter == "area") pre = {pfrt::tools::ResizeFilter::kArea, false};
    else if (filter != "auto") throw std::runtime_error("unknown resize filter '" + filter + "'");

    File pixels(out + ".u8"), inputs(out + ".f32");
    for (int i = 6; i < argc; ++i) {
      const int k = i - 6;
      try {
        const pfrt::tools::Image image = pfrt::tools::load_image(argv[i]);
        const std::vector<float> input = pfrt::tools::model_input(model, image, pre);
        pixels.write(image.pixels.data(), image.pixels.size());
        inputs.write(input.data(), input.size() * sizeof(float));
        std::printf("%d %u %u %u\n", k, image.width, image.height, image.channels);
      } catch (const pfrt::tools::ImageError& e) {
        std::printf("%d error %s\n", k, e.what());
      }
    }
    pixels.close();
    inputs.close();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfrt_preprocess_dump: %s\n", e.what());
    return 1;
  }
}
