// robot-app: how a robot's perception loop uses pfrt. It opens the model once, then classifies
// a stream of camera frames at a fixed rate, printing each frame's class and latency. Frames
// are binary PGM (P5, grey) or PPM (P6, RGB) files of the model's image size, read from a
// directory in name order (a stand-in for a camera driver).
//   robot-app MODEL.pfrt FRAME_DIR [--fps F] [--threads N] [--backend NAME] [--budget-ms MS]
// With --budget-ms, each frame gets that deadline and a progressively trained model answers
// with the branches that finished in time (anytime inference).
#include <pfrt/pfrt.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string model, frames, backend;
  double fps = 10.0, budget_ms = 0.0;
  int threads = 0;
};

Options parse(int argc, char** argv) {
  if (argc < 3)
    throw std::invalid_argument(
        "usage: robot-app MODEL.pfrt FRAME_DIR [--fps F] [--threads N] [--backend NAME] [--budget-ms MS]");
  Options o;
  o.model = argv[1];
  o.frames = argv[2];
  for (int i = 3; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string value = argv[i + 1];
    try {
      if (flag == "--fps") o.fps = std::stod(value);
      else if (flag == "--threads") o.threads = std::stoi(value);
      else if (flag == "--backend") o.backend = value;
      else if (flag == "--budget-ms") o.budget_ms = std::stod(value);
      else throw std::invalid_argument("unknown option " + flag);
    } catch (const std::logic_error&) {
      throw std::invalid_argument("bad value '" + value + "' for " + flag);
    }
  }
  if (!(o.fps > 0.0)) throw std::invalid_argument("--fps must be positive");
  return o;
}

// Reads a binary PGM/PPM of exactly size x size pixels with `channels` channels (1: P5, 3: P6).
std::vector<uint8_t> read_frame(const std::filesystem::path& path, uint32_t size, uint32_t channels) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  unsigned width = 0, height = 0, maxval = 0;
  in >> magic >> width >> height >> maxval;
  const std::string want = channels == 1 ? "P5" : "P6";
  if (!in || magic != want || maxval != 255) {
    throw std::runtime_error(path.string() + ": not an 8-bit binary " + want + " image");
  }
  if (width != size || height != size) {
    throw std::runtime_error(path.string() + ": " + std::to_string(width) + "x" + std::to_string(height) +
                             ", the model needs " + std::to_string(size) + "x" + std::to_string(size));
  }
  in.get();  // the single whitespace after the header
  std::vector<uint8_t> pixels(size_t(size) * size * channels);
  in.read(reinterpret_cast<char*>(pixels.data()), std::streamsize(pixels.size()));
  if (in.gcount() != std::streamsize(pixels.size())) throw std::runtime_error(path.string() + ": truncated");
  return pixels;
}

std::vector<std::filesystem::path> list_frames(const std::string& dir, uint32_t channels) {
  const std::string extension = channels == 1 ? ".pgm" : ".ppm";
  std::vector<std::filesystem::path> frames;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) frames.push_back(entry.path());
  }
  std::sort(frames.begin(), frames.end());
  if (frames.empty()) throw std::runtime_error(dir + ": no " + extension + " frames");
  return frames;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const pfrt::Model model = pfrt::Model::open(o.model);
    const pfrt::ModelInfo info = model.info();
    pfrt::Session session(model, {o.backend, o.threads});
    const std::vector<std::filesystem::path> frames = list_frames(o.frames, info.channels);
    std::cout << "robot-app: " << frames.size() << " frames at " << o.fps << " Hz on " << session.describe() << "\n";
    // Warm up before the first frame: a session's first run pays one-time costs (buffers, the
    // first touch of the weights), which would otherwise eat the first frame's deadline.
    session.run(std::vector<float>(model.image_floats(), 0.0f));

    using clock = std::chrono::steady_clock;
    const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / o.fps));
    auto tick = clock::now();
    int late = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      const std::vector<float> input = model.normalize(read_frame(frames[i], info.image_size, info.channels).data(),
                                                       size_t(info.image_size) * info.image_size);
      pfrt::RunOptions run;
      run.budget_ms = o.budget_ms;
      run.best_prefix = o.budget_ms > 0;
      std::vector<float> logits(info.classes);
      const auto start = clock::now();
      const pfrt::RunResult result = session.run(input.data(), input.size(), logits.data(), logits.size(), run);
      const double ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
      const auto best = uint32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      const std::string label = model.label(best);
      std::printf("frame %zu %s: class %u%s%s%s  %.3f ms  branches %u/%u%s\n", i, frames[i].filename().c_str(), best,
                  label.empty() ? "" : " \"", label.c_str(), label.empty() ? "" : "\"", ms, result.branches_used,
                  info.branches, result.deadline_reached ? " (deadline)" : "");
      tick += period;
      if (clock::now() > tick) {
        ++late;  // overran its slot: start the next frame now, and keep the schedule from drifting
        tick = clock::now();
      }
      std::this_thread::sleep_until(tick);
    }
    std::printf("robot-app: %zu frames, %d over their %.1f ms slot\n", frames.size(), late, 1000.0 / o.fps);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "robot-app: " << e.what() << "\n";
    return 1;
  }
}
