// Turning images into a model's input and logits into answers: preprocessing (channels, size,
// normalisation), softmax and top-k, and the evaluation of a labelled image set.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "idx.hpp"
#include "image.hpp"
#include "pfrt/pfrt.hpp"

namespace pfrt::tools {

// Converts channels, resizes to the model's image size (`filter`, or area when shrinking and
// bilinear when enlarging if `automatic`), and normalises with the model's mean/std. With
// `resize` false an image of another size is refused (ImageError) instead.
struct Preprocess {
  ResizeFilter filter = ResizeFilter::kArea;
  bool automatic = true;
  bool resize = true;
};
std::vector<float> model_input(const Model& model, const Image& image, const Preprocess& pre);

std::vector<float> softmax(const float* logits, size_t count);

struct Ranked {
  uint32_t index;
  float probability;
};
// The k most probable classes, most probable first (ties: lower index first).
std::vector<Ranked> top_k(const std::vector<float>& probabilities, size_t k);

// Index of the largest logit (the first one on ties).
uint32_t argmax(const float* logits, size_t count);

// The largest logit minus the second largest (0 for fewer than two classes, and on ties).
float top_margin(const float* logits, size_t count);

struct EvalResult {
  uint64_t total = 0, correct = 0;
  uint32_t classes = 0;
  std::vector<uint64_t> confusion;  // classes x classes: [true label][prediction], answered images
  // [k]: images answered with the prefix of k branches; [0]: images a deadline left unanswered
  // (counted in total, never correct, not in the confusion matrix).
  std::vector<uint64_t> branches_used;
  double seconds = 0.0;  // inference time only (runs of the session)
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
};

// Classifies the first `limit` images (0: all) in batches of `batch` with `options` (a prefix
// of branches, or a deadline per batch: with best_prefix each batch is answered by the branches
// that finished in time). Labels must be below the model's class count. `progress` is called
// after every batch with the images done so far; `per_image`, when given, with each answered
// image's index and logits (model.info().classes of them), in order.
using ImageLogits = std::function<void(uint32_t index, const float* logits)>;
EvalResult evaluate(Session& session, const Model& model, const LabelledImages& set, uint32_t limit, uint32_t batch,
                    const RunOptions& options, const Preprocess& pre, const std::function<void(size_t)>& progress,
                    const ImageLogits& per_image = nullptr);

}  // namespace pfrt::tools
