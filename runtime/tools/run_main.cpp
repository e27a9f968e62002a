// pfrt-run: classify images with a model (top-k labels and probabilities), or evaluate a
// labelled IDX set (accuracy, confusion matrix, images/s); anytime mode with --deadline-ms.

#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "classify.hpp"
#include "common.hpp"
#include "output_file.hpp"
#include "progress.hpp"
#include "ranks.hpp"

using namespace pfrt::tools;

namespace {

struct RunConfig {
  std::string model_path;
  std::vector<std::string> images;
  pfrt::SessionOptions session;
  uint32_t top = 3, branches = 0, batch = 32, limit = 0;
  double deadline_ms = 0.0;
  bool json = false, progress = true;
  Preprocess pre;
  std::string eval_images, eval_labels;
  std::string predictions;  // --eval: file of per-image predictions
};

RunConfig parse(const ArgParser& args) {
  RunConfig c;
  if (args.positional().empty()) throw UsageError("no MODEL given");
  c.model_path = args.positional()[0];
  c.images.assign(args.positional().begin() + 1, args.positional().end());
  c.session = session_options(args);
  if (args.has("eval")) {
    if (!c.images.empty()) throw UsageError("give either IMAGE files or --eval IMAGES LABELS, not both");
    c.eval_images = args.values("eval")[0];
    c.eval_labels = args.values("eval")[1];
  } else if (c.images.empty()) {
    throw UsageError("no IMAGE given (or --eval IMAGES LABELS)");
  }
  if (args.has("limit") && !args.has("eval")) throw UsageError("option '--limit' goes with --eval");
  if (args.has("batch") && !args.has("eval")) throw UsageError("option '--batch' goes with --eval");
  if (args.has("predictions") && !args.has("eval")) throw UsageError("option '--predictions' goes with --eval");
  if (args.has("deadline-ms") && args.has("predictions")) {
    throw UsageError(
        "option '--predictions' cannot go with --deadline-ms (images the deadline leaves unanswered have none)");
  }
  if (args.has("top")) c.top = uint32_t(parse_uint("top", args.value("top"), 1, 1u << 20));
  if (args.has("prefix")) c.branches = uint32_t(parse_uint("prefix", args.value("prefix"), 1, 1024));
  if (args.has("deadline-ms")) c.batch = 1;  // a control loop answers one frame per deadline
  if (args.has("batch")) c.batch = uint32_t(parse_uint("batch", args.value("batch"), 1, 4096));
  if (args.has("limit")) c.limit = uint32_t(parse_uint("limit", args.value("limit"), 1, UINT32_MAX));
  if (args.has("deadline-ms")) c.deadline_ms = parse_double("deadline-ms", args.value("deadline-ms"), 1e-3, 3.6e6);
  c.predictions = args.value("predictions");
  c.json = args.has("json");
  c.progress = !args.has("no-progress");
  if (args.has("resize")) {
    const std::string f = args.value("resize");
    if (f == "bilinear") c.pre = {ResizeFilter::kBilinear, false};
    else if (f == "area") c.pre = {ResizeFilter::kArea, false};
    else if (f == "none") c.pre.resize = false;
    else if (f != "auto") throw UsageError("option '--resize': '" + f + "' is not auto, bilinear, area or none");
  }
  return c;
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", ms);
  return buf;
}

std::string label_of(const pfrt::Model& model, uint32_t index) {
  const std::string l = model.label(index);
  return l.empty() ? "class " + std::to_string(index) : l;
}

int classify(const RunConfig& c, const pfrt::Model& model, pfrt::Session& session, uint32_t warmup_runs) {
  const pfrt::ModelInfo info = model.info();
  if (c.branches > info.branches) {
    throw UsageError("option '--prefix': " + std::to_string(c.branches) + " is more than the model's " +
                     std::to_string(info.branches) + " branches");
  }
  pfrt::RunOptions options;
  options.branches = c.branches;
  options.budget_ms = c.deadline_ms;
  options.best_prefix = c.deadline_ms > 0;
  JsonWriter json(std::cout);
  if (c.json) {
    json.begin_object();
    write_json_header(json, "pfrt-run", machine_info());
    write_model_json(json, c.model_path, model);
    json.field("backend", session.backend());
    json.field("threads", session.threads()).field("warmup_runs", warmup_runs).key("results").begin_array();
  }
  int failures = 0;
  std::vector<float> logits(info.classes);
  for (const std::string& path : c.images) {
    std::vector<float> input;
    pfrt::RunResult r;
    std::string error;
    try {
      try {
        input = model_input(model, load_image(path), c.pre);
      } catch (const ImageError& e) {
        const std::string what = e.what();  // load_image's errors name the file already
        throw ImageError(what.compare(0, path.size(), path) == 0 ? what : path + ": " + what);
      }
      r = session.run(input.data(), input.size(), logits.data(), logits.size(), options);
    } catch (const ImageError& e) {
      error = e.what();
    } catch (const pfrt::Error& e) {
      error = path + ": " +
              (e.status() == PFRT_DEADLINE_EXCEEDED && c.deadline_ms > 0
                   ? "the deadline of " + format_ms(c.deadline_ms) + " ms passed before even one branch finished"
                   : std::string(e.what()));
    }
    if (!error.empty()) {
      ++failures;
      std::fprintf(stderr, "pfrt-run: %s\n", error.c_str());
      if (c.json) json.begin_object().field("image", path).field("error", error).end_object();
      continue;
    }
    const std::vector<Ranked> top = top_k(softmax(logits.data(), logits.size()), c.top);
    if (c.json) {
      json.begin_object().field("image", path).field("branches_used", r.branches_used);
      json.field("deadline_reached", r.deadline_reached).field("elapsed_ms", r.elapsed_ms);
      json.key("top").begin_array();
      for (const Ranked& t : top) {
        json.begin_object().field("class", t.index).field("label", label_of(model, t.index));
        json.field("probability", double(t.probability)).end_object();
      }
      json.end_array().end_object();
      continue;
    }
    std::printf("%s:", path.c_str());
    for (size_t i = 0; i < top.size(); ++i) {
      std::printf("%s %s %.3f", i ? "," : "", label_of(model, top[i].index).c_str(), double(top[i].probability));
    }
    std::printf("   (%u/%u branches%s, %.3f ms)\n", r.branches_used, info.branches,
                r.deadline_reached ? ", cut by the deadline" : "", r.elapsed_ms);
  }
  if (c.json) json.end_array().field("failures", failures).end_object();
  return failures ? kExitFailure : 0;
}

int eval(const RunConfig& c, const pfrt::Model& model, pfrt::Session& session, uint32_t warmup_runs) {
  const pfrt::ModelInfo info = model.info();
  if (c.branches > info.branches) {
    throw UsageError("option '--prefix': " + std::to_string(c.branches) + " is more than the model's " +
                     std::to_string(info.branches) + " branches");
  }
  const LabelledImages set = read_labelled_images(c.eval_images, c.eval_labels);
  const size_t n = c.limit ? std::min<size_t>(c.limit, set.count) : set.count;
  // One line per image: index, predicted class, top-1 minus top-2 logit. Collected, then written
  // after the evaluation (write_output_file: never half-written, never replacing a device or a
  // link), so a failed run leaves no partial file; the path is checked first, so a bad one fails
  // before a long evaluation.
  std::ostringstream predictions;
  ImageLogits per_image;
  if (!c.predictions.empty()) {
    pfrt::convert::check_output_path(c.predictions);
    predictions.precision(9);
    per_image = [&](uint32_t index, const float* logits) {
      predictions << index << ' ' << argmax(logits, info.classes) << ' ' << top_margin(logits, info.classes) << '\n';
    };
  }
  Progress progress(c.progress && !c.json);
  pfrt::RunOptions options;
  options.branches = c.branches;
  options.budget_ms = c.deadline_ms;
  options.best_prefix = c.deadline_ms > 0;
  const EvalResult r = evaluate(
      session, model, set, c.limit, c.batch, options, c.pre,
      [&](size_t done) { progress.update("evaluating", done, n); }, per_image);
  progress.clear();
  if (!c.predictions.empty()) {
    const std::string text = predictions.str();
    pfrt::convert::write_output_file(c.predictions, std::vector<uint8_t>(text.begin(), text.end()));
  }
  const double rate = r.seconds > 0 ? double(r.total) / r.seconds : 0.0;
  if (c.json) {
    JsonWriter j(std::cout);
    j.begin_object();
    write_json_header(j, "pfrt-run --eval", machine_info());
    write_model_json(j, c.model_path, model);
    j.field("backend", session.backend()).field("describe", session.describe());
    j.field("threads", session.threads())
        .field("warmup_runs", warmup_runs)
        .field("batch", c.batch)
        .field("branches", c.branches ? c.branches : info.branches);
    j.field("images", c.eval_images).field("labels", c.eval_labels);
    j.field("total", r.total).field("correct", r.correct).field("accuracy", r.accuracy());
    j.field("inference_seconds", r.seconds).field("images_per_s", rate);
    if (c.deadline_ms > 0) {
      j.field("deadline_ms", c.deadline_ms);
      j.key("branches_used").begin_array();  // [k]: images answered by k branches; [0]: unanswered
      for (uint64_t images : r.branches_used) j.value(images);
      j.end_array();
    }
    j.key("class_labels").begin_array();
    for (uint32_t i = 0; i < info.classes; ++i) j.value(label_of(model, i));
    j.end_array();
    j.key("confusion").begin_array();  // rows: true class, columns: prediction
    for (uint32_t t = 0; t < r.classes; ++t) {
      j.begin_array();
      for (uint32_t p = 0; p < r.classes; ++p) j.value(r.confusion[size_t(t) * r.classes + p]);
      j.end_array();
    }
    j.end_array().end_object();
    return 0;
  }
  std::printf("accuracy %.2f %% (%llu of %llu), %.1f images/s (%s, %d threads, batch %u, %u branches)\n",
              100.0 * r.accuracy(), static_cast<unsigned long long>(r.correct),
              static_cast<unsigned long long>(r.total), rate, session.backend().c_str(), session.threads(), c.batch,
              c.branches ? c.branches : info.branches);
  if (c.deadline_ms > 0) {
    double mean = 0.0;
    for (size_t k = 1; k < r.branches_used.size(); ++k) mean += double(k) * double(r.branches_used[k]);
    std::printf("deadline %s ms per batch of %u: mean %.2f branches per image; images by branches used:",
                format_ms(c.deadline_ms).c_str(), c.batch, r.total ? mean / double(r.total) : 0.0);
    for (size_t k = 1; k < r.branches_used.size(); ++k) {
      std::printf("%s k=%zu: %llu", k == 1 ? "" : ",", k, static_cast<unsigned long long>(r.branches_used[k]));
    }
    std::printf("; unanswered: %llu\n", static_cast<unsigned long long>(r.branches_used[0]));
  }
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%-14s", "");
  for (uint32_t p = 0; p < r.classes; ++p) std::printf(" %6u", p);
  std::printf("\n");
  for (uint32_t t = 0; t < r.classes; ++t) {
    std::printf("%2u %-11.11s", t, label_of(model, t).c_str());
    for (uint32_t p = 0; p < r.classes; ++p) {
      std::printf(" %6llu", static_cast<unsigned long long>(r.confusion[size_t(t) * r.classes + p]));
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Ranks ranks;  // under mpirun -n R: this process's rank (ranks.hpp)
  const int status = run_tool("pfrt-run", [&]() -> int {
    ranks = join_ranks();
    ArgParser args(
        "pfrt-run",
        "MODEL IMAGE... [options]\n       pfrt-run MODEL --eval IMAGES.idx[.gz] LABELS.idx[.gz] [--limit N]");
    add_session_options(args);
    add_transport_option(args);
    args.option("top", "K", "labels to print per image (default 3)");
    args.option("prefix", "K", "run only the prefix of branches 1..K");
    args.alias("branches", "prefix");
    args.option("deadline-ms", "X",
                "anytime: answer with the longest prefix of branches finished within X ms (with --eval: accuracy under "
                "that deadline)");
    args.option("resize", "FILTER",
                "auto (default: resize to the model's size, area when shrinking, else bilinear), bilinear, area, or "
                "none (refuse an image of another size)");
    args.flag("json", "print one JSON object");
    args.option("eval", "IMAGES LABELS", "evaluate a labelled IDX set (.gz or plain)", 2);
    args.option("limit", "N", "--eval: only the first N images");
    args.option("batch", "N", "--eval: images per run (default 32; 1 with --deadline-ms, which applies per run)");
    args.option("predictions", "FILE", "--eval: write a line per image: index, predicted class, top-2 logit margin");
    args.flag("no-progress", "no progress line even on a terminal");
    args.parse(argc, argv);
    if (print_help_or_version(args, "pfrt-run")) return 0;
    const RunConfig c = parse(args);
    read_transport(args, ranks);
    const pfrt::Model model = pfrt::Model::open(c.model_path);
    const pfrt::ModelInfo info = model.info();
    if ((c.deadline_ms > 0 || (c.branches > 0 && c.branches < info.branches)) &&
        info.training != PFRT_TRAINING_PROGRESSIVE) {
      std::fprintf(
          stderr,
          "pfrt-run: warning: %s was not trained progressively: a prefix of its branches is not a trained model\n",
          c.model_path.c_str());
    }
    pfrt::Session session = make_session(model, c.session, ranks);
    uint32_t warmup_runs = 0;
    if (c.deadline_ms > 0) {
      // A session's first run of a batch size pays one-time costs (buffers, first touch of the
      // packed weights): run once untimed, so the first image is not lost to a cold start.
      const size_t batch = c.eval_images.empty() ? 1 : c.batch;
      session.run(std::vector<float>(batch * model.image_floats(), 0.0f));
      ++warmup_runs;
    }
    return c.eval_images.empty() ? classify(c, model, session, warmup_runs) : eval(c, model, session, warmup_runs);
  });
  leave_ranks(ranks);
  return status;
}
