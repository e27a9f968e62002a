// Writes the files the command-line tests of pfrt-bench and pfrt-run use into a folder: a
// small random model (4 branches, labelled), images in several formats, a labelled IDX set,
// and broken files.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "output_file.hpp"
#include "support/image_files.hpp"
#include "support/test_models.hpp"

namespace {

std::vector<uint8_t> idx(std::vector<uint32_t> dims, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b = {0, 0, 8, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  }
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
  pfrt::convert::write_output_file(path, bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_tool_fixtures FOLDER\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    pfrt::format::ModelConfig cfg = pfrt::test::tiny_config();
    cfg.branches = 4;
    cfg.training = pfrt::format::TrainingMode::kProgressive;
    for (int i = 0; i < 10; ++i) cfg.labels.push_back("label " + std::to_string(i));
    const std::vector<uint8_t> model = pfrt::test::model_bytes(cfg, 3);
    write(dir + "/model.pfrt", model);
    write(dir + "/truncated.pfrt", std::vector<uint8_t>(model.begin(), model.begin() + long(model.size() / 2)));

    std::vector<uint8_t> pixels(12 * 28 * 28);
    const std::vector<float> noise = pfrt::test::random_floats(pixels.size(), 4);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t((noise[i] + 1.0f) * 127.5f);
    std::vector<uint8_t> labels;
    for (int i = 0; i < 12; ++i) labels.push_back(uint8_t(i % 10));
    write(dir + "/images.idx", idx({12, 28, 28}, pixels));
    write(dir + "/labels.idx", idx({12}, labels));
    write(dir + "/labels-short.idx", idx({5}, std::vector<uint8_t>(labels.begin(), labels.begin() + 5)));
    std::vector<uint8_t> bad_label = labels;
    bad_label.back() = 12;  // not one of the model's 10 classes
    write(dir + "/labels-bad.idx", idx({12}, bad_label));
    // The same images at 32x32: an evaluation set of the wrong size (refused, not resized).
    write(dir + "/images-32.idx", idx({12, 32, 32}, std::vector<uint8_t>(12 * 32 * 32, 128)));

    // Outputs that must never be replaced: a FIFO, a directory, and the converter's own inputs.
    ::unlink((dir + "/fifo").c_str());
    if (::mkfifo((dir + "/fifo").c_str(), 0600) != 0) throw std::runtime_error("cannot make " + dir + "/fifo");
    ::mkdir((dir + "/folder").c_str(), 0700);
    const std::string config = pfrt::test::config_json_text(cfg);
    write(dir + "/config.json", std::vector<uint8_t>(config.begin(), config.end()));
    write(dir + "/model.safetensors", pfrt::test::safetensors_bytes(pfrt::test::raw_tensors(cfg, 3)));

    std::string header = "P5\n28 28\n255\n";
    std::vector<uint8_t> pgm(header.begin(), header.end());
    pgm.insert(pgm.end(), pixels.begin(), pixels.begin() + 784);
    write(dir + "/sample.pgm", pgm);
    // A 40x30 RGB PNG: converted to gray and resized by pfrt-run.
    std::vector<uint8_t> rgb(40 * 30 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 13);
    pfrt::test::PngSpec png;
    png.width = 40;
    png.height = 30;
    png.channels = 3;
    write(dir + "/sample.png", pfrt::test::encode_png(png, rgb));
    write(dir + "/broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
    // A PNG whose header claims 100000 x 100000 pixels, and a PGM of 0 x 0.
    write(dir + "/huge.png", {0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
                              1,    0x86, 0xa0, 0,   1,    0x86, 0xa0, 8,    0, 0, 0, 0,  0,   0,   0,   0});
    const std::string empty_pgm = "P5\n0 0\n255\n";
    write(dir + "/empty.pgm", std::vector<uint8_t>(empty_pgm.begin(), empty_pgm.end()));
    // A 56x56 colour JPEG, and the same cut off inside its entropy-coded data.
    std::vector<uint8_t> photo(56 * 56 * 3);
    for (size_t i = 0; i < photo.size(); ++i) photo[i] = uint8_t((i / 3 % 56) * 4 + (i / 168) * 2);
    pfrt::test::JpegSpec jpeg;
    jpeg.width = jpeg.height = 56;
    const std::vector<uint8_t> jpg = pfrt::test::encode_jpeg(jpeg, photo);
    write(dir + "/sample.jpg", jpg);
    write(dir + "/truncated.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + long(jpg.size() * 2 / 3)));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tool_fixtures: %s\n", e.what());
    return 1;
  }
}
