#include "classify.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pfrt::tools {

std::vector<float> model_input(const Model& model, const Image& image, const Preprocess& pre) {
  const ModelInfo info = model.info();
  Image img = convert_channels(image, info.channels);
  if (img.width != info.image_size || img.height != info.image_size) {
    if (!pre.resize) {
      throw ImageError("the image is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                       " but the model takes " + std::to_string(info.image_size) + "x" +
                       std::to_string(info.image_size) + " (--resize none: images are not resized)");
    }
    ResizeFilter filter = pre.filter;
    if (pre.automatic) {
      const bool shrinking = img.width >= info.image_size && img.height >= info.image_size;
      filter = shrinking ? ResizeFilter::kArea : ResizeFilter::kBilinear;
    }
    img = resize(img, info.image_size, info.image_size, filter);
  }
  return model.normalize(img.pixels.data(), img.pixels.size());
}

std::vector<float> softmax(const float* logits, size_t count) {
  std::vector<float> p(count);
  if (count == 0) return p;
  const float top = *std::max_element(logits, logits + count);
  double sum = 0.0;
  for (size_t i = 0; i < count; ++i) sum += std::exp(double(logits[i]) - double(top));
  for (size_t i = 0; i < count; ++i) p[i] = float(std::exp(double(logits[i]) - double(top)) / sum);
  return p;
}

std::vector<Ranked> top_k(const std::vector<float>& probabilities, size_t k) {
  std::vector<Ranked> r;
  for (size_t i = 0; i < probabilities.size(); ++i) r.push_back({uint32_t(i), probabilities[i]});
  k = std::min(k, r.size());
  std::partial_sort(r.begin(), r.begin() + std::ptrdiff_t(k), r.end(), [](const Ranked& a, const Ranked& b) {
    return a.probability > b.probability || (a.probability == b.probability && a.index < b.index);
  });
  r.resize(k);
  return r;
}

uint32_t argmax(const float* logits, size_t count) {
  return uint32_t(std::max_element(logits, logits + count) - logits);
}

float top_margin(const float* logits, size_t count) {
  if (count < 2) return 0.0f;
  float first = std::max(logits[0], logits[1]), second = std::min(logits[0], logits[1]);
  for (size_t i = 2; i < count; ++i) {
    if (logits[i] > first) {
      second = first;
      first = logits[i];
    } else if (logits[i] > second) {
      second = logits[i];
    }
  }
  return first - second;
}

EvalResult evaluate(Session& session, const Model& model, const LabelledImages& set, uint32_t limit, uint32_t batch,
                    const RunOptions& options, const Preprocess& pre, const std::function<void(size_t)>& progress,
                    const ImageLogits& per_image) {
  const ModelInfo info = model.info();
  EvalResult r;
  r.classes = info.classes;
  r.confusion.assign(size_t(info.classes) * info.classes, 0);
  r.branches_used.assign(size_t(info.branches) + 1, 0);
  const uint32_t n = limit == 0 ? set.count : std::min(limit, set.count);
  batch = std::max<uint32_t>(1, batch);
  const size_t image_floats = size_t(info.channels) * info.image_size * info.image_size;
  const size_t image_bytes = size_t(set.height) * set.width * set.channels;
  // An evaluation set is scored as it is: resized images are not the test set (and score
  // nothing like it), so a size other than the model's is refused.
  if (set.width != info.image_size || set.height != info.image_size) {
    throw IdxError((set.name.empty() ? std::string("the image set") : set.name) + ": images are " +
                   std::to_string(set.width) + "x" + std::to_string(set.height) + " but the model takes " +
                   std::to_string(info.image_size) + "x" + std::to_string(info.image_size) +
                   ": an evaluation set must have the model's image size (pfrt-run does not resize it)");
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (set.labels[i] >= info.classes) {
      throw IdxError("label " + std::to_string(set.labels[i]) + " of image " + std::to_string(i) +
                     " is not a class of the model (it has " + std::to_string(info.classes) + ")");
    }
  }
  std::vector<float> input, logits;
  for (uint32_t start = 0; start < n; start += batch) {
    const uint32_t count = std::min(batch, n - start);
    input.resize(size_t(count) * image_floats);
    logits.resize(size_t(count) * info.classes);
    for (uint32_t j = 0; j < count; ++j) {
      Image img;
      img.width = set.width;
      img.height = set.height;
      img.channels = set.channels;
      const uint8_t* p = set.pixels.data() + size_t(start + j) * image_bytes;
      img.pixels.assign(p, p + image_bytes);
      const std::vector<float> x = model_input(model, img, pre);
      std::copy(x.begin(), x.end(), input.begin() + std::ptrdiff_t(j * image_floats));
    }
    const auto t0 = std::chrono::steady_clock::now();
    uint32_t used = 0;
    try {
      used = session.run(input.data(), input.size(), logits.data(), logits.size(), options).branches_used;
    } catch (const Error& e) {
      if (e.status() != PFRT_DEADLINE_EXCEEDED || !options.best_prefix) throw;
    }
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.branches_used[used] += count;
    if (used == 0) {  // the deadline passed before one branch finished: no answer
      r.total += count;
      if (progress) progress(start + count);
      continue;
    }
    for (uint32_t j = 0; j < count; ++j) {
      const uint32_t truth = set.labels[start + j];
      const float* image_logits = logits.data() + size_t(j) * info.classes;
      const uint32_t pred = argmax(image_logits, info.classes);
      if (per_image) per_image(start + j, image_logits);
      r.confusion[size_t(truth) * info.classes + pred]++;
      r.correct += pred == truth;
      r.total++;
    }
    if (progress) progress(start + count);
  }
  return r;
}

}  // namespace pfrt::tools
