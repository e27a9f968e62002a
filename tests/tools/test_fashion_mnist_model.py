#!/usr/bin/python3
"""The shipped Fashion-MNIST model, through pfrt-run, against PyTorch and the published figures.

  test_fashion_mnist_model.py agree MODEL_DIR WORK_DIR [PRECISION] [--images N] -- PFRT_RUN...
      pfrt-run MODEL_DIR/model.pfrt (PRECISION f16, int8: model-f16.pfrt, model-int8.pfrt, and
      PyTorch fake-quantised as reference/quantize.py does) --eval on all 10,000 test images, with --predictions, and
      PyTorch (reference/paraformer.py with MODEL_DIR/config.json + model.safetensors) on the
      same images: every prediction must agree, except where PyTorch's two largest logits are
      less than 1e-4 apart (such images are listed). pfrt's accuracy must be that of its own
      predictions, and its top-2 margins within 1e-3 of PyTorch's (int8, and f16 where pfrt-run's
      session uses f16 arithmetic: 0.05, and for f16 a near tie is a margin under 0.05). --images N: the first N test
      images only (CTest's choice where pfrt-run runs under an emulator, 20x slower).
  test_fashion_mnist_model.py accuracy MODEL_DIR README -- PFRT_RUN...
      pfrt-run --eval's printed accuracy on the 10,000 test images equals MODEL_DIR/results.json's
      "test_accuracy" (same count of correct images), and README contains that figure as
      f"{100 * acc:.2f} %".

Exit 77 (CTest: skipped), with the reason, when the model folder, the README, PyTorch or the
dataset (Debian's dataset-fashion-mnist) is missing.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))

MARGIN = 1e-4          # PyTorch top-2 logit margin under which pfrt may pick the other class
MARGIN_AGREEMENT = 1e-3  # |pfrt margin - PyTorch margin| on every image
# int8: an activation on the other side of a rounding step (pfrt's and PyTorch's f32 LayerNorm,
# attention and GELU differ in the last bits) moves a logit by about a step (0.022 seen).
MARGIN_AGREEMENT_INT8 = 0.05
# f16 on a CPU with f16 arithmetic (pfrt-run's session description says "f16 arithmetic": the cpu
# backend on ARMv8.2, chunked f16 sums, README "int8 and f16 models"): logits within about 1e-3
# relative of f32 arithmetic (0.013 seen on the first 2,500 images under qemu); images whose
# PyTorch margin is below this may also pick the other class.
MARGIN_AGREEMENT_F16_ARITHMETIC = 0.05
TEST_IMAGES = 10000


def skip(message):
    print(f"test_fashion_mnist_model.py: skipped: {message}")
    sys.exit(77)


def need_files(model_dir, names):
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            skip(f"{path} does not exist (the shipped model is not in the tree yet, or configure with "
                 f"-DPFRT_FASHION_MNIST_MODEL_DIR=FOLDER to test another one)")


def dataset():
    try:
        import fashion_mnist
    except ImportError as e:
        skip(f"{e.name} is not installed (apt-get install python3-numpy)")
    folder = fashion_mnist.DEFAULT_DIR
    paths = []
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        found = [os.path.join(folder, stem + ext) for ext in (".gz", "") if os.path.isfile(os.path.join(folder, stem + ext))]
        if not found:
            skip(f"Fashion-MNIST is not at {folder} (apt-get install dataset-fashion-mnist)")
        paths.append(found[0])
    return fashion_mnist, paths


def run_pfrt(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        print(f"FAIL: {' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r.stdout, seconds


def need_torch():
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        skip(f"{e.name} is not installed (apt-get install python3-torch python3-numpy)")


def torch_logits(model_dir, images_u8, precision="f32"):
    import numpy as np
    import torch
    import export

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    import quantize

    model, c = export.read_model(model_dir)
    cfg = model.cfg
    model = quantize.fake_quantize(model, precision)
    if (cfg.image_size, cfg.image_size, cfg.channels) != tuple(images_u8.shape[1:]) + (1,):
        print(f"FAIL: the model takes {cfg.image_size}x{cfg.image_size}x{cfg.channels}, Fashion-MNIST is "
              f"{images_u8.shape[2]}x{images_u8.shape[1]}x1")
        sys.exit(1)
    # The training pipeline's normalisation (fashion_mnist.normalise) with the model's mean/std.
    x = torch.from_numpy(np.array(images_u8, dtype=np.uint8)).float().div_(255.0)
    x = x.sub_(float(c["mean"][0])).div_(float(c["std"][0])).unsqueeze(1)
    with torch.no_grad():
        return torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)]).numpy()


def cmd_agree(model_dir, work, pfrt_run, precision="f32", count=TEST_IMAGES):
    model_file = "model.pfrt" if precision == "f32" else f"model-{precision}.pfrt"
    need_files(model_dir, (model_file, "config.json", "model.safetensors"))
    need_torch()
    fashion_mnist, (images_path, labels_path) = dataset()
    import numpy as np

    images, labels = fashion_mnist.load("t10k", os.path.dirname(images_path))
    images, labels = images[:count], labels[:count]
    os.makedirs(work, exist_ok=True)
    predictions_path = os.path.join(work, "predictions.txt")
    if os.path.exists(predictions_path):
        os.unlink(predictions_path)
    out, pfrt_seconds = run_pfrt(pfrt_run + [os.path.join(model_dir, model_file), "--eval", images_path, labels_path,
                                             "--predictions", predictions_path, "--json", "--no-progress",
                                             "--limit", str(len(images))])
    report = json.loads(out)
    rows = np.loadtxt(predictions_path, ndmin=2)
    t0 = time.monotonic()
    logits = torch_logits(model_dir, images, precision)
    torch_seconds = time.monotonic() - t0

    failures = []
    if rows.shape != (len(images), 3) or not (rows[:, 0] == np.arange(len(images))).all():
        print(f"FAIL: {predictions_path}: expected {len(images)} lines 'index class margin' in order, got shape {rows.shape}")
        return 1
    pfrt_pred = rows[:, 1].astype(np.int64)
    pfrt_margin = rows[:, 2]
    top2 = np.sort(logits, axis=1)[:, -2:]
    torch_margin = top2[:, 1] - top2[:, 0]
    torch_pred = logits.argmax(axis=1)

    if report["total"] != len(images) or report["correct"] != int((pfrt_pred == labels).sum()):
        failures.append(f"pfrt-run --eval counts {report['correct']} of {report['total']} correct, its --predictions "
                        f"{int((pfrt_pred == labels).sum())} of {len(images)}")
    f16_arithmetic = "f16 arithmetic" in report.get("describe", "")
    near_tie = MARGIN_AGREEMENT_F16_ARITHMETIC if f16_arithmetic else MARGIN
    margin_err = np.abs(pfrt_margin - torch_margin)
    if margin_err.max() > (MARGIN_AGREEMENT_INT8 if precision == "int8" else
                           MARGIN_AGREEMENT_F16_ARITHMETIC if f16_arithmetic else MARGIN_AGREEMENT):
        i = int(margin_err.argmax())
        failures.append(f"image {i}: pfrt's top-2 margin {pfrt_margin[i]:.6g}, PyTorch's {torch_margin[i]:.6g}")
    differ = np.nonzero(pfrt_pred != torch_pred)[0]
    explained = [int(i) for i in differ if torch_margin[i] < near_tie]
    unexplained = [int(i) for i in differ if torch_margin[i] >= near_tie]
    for i in explained:
        print(f"note: image {i}: pfrt predicts {pfrt_pred[i]}, PyTorch {torch_pred[i]}: PyTorch's top-2 logit margin "
              f"{torch_margin[i]:.3g} is under {near_tie} (pfrt's {pfrt_margin[i]:.3g})")
    for i in unexplained[:20]:
        failures.append(f"image {i}: pfrt predicts {pfrt_pred[i]}, PyTorch {torch_pred[i]} (PyTorch's top-2 logit "
                        f"margin {torch_margin[i]:.6g}, pfrt's {pfrt_margin[i]:.6g})")
    if len(unexplained) > 20:
        failures.append(f"... {len(unexplained)} images disagree beyond the margin of {near_tie}")
    for f in failures:
        print("FAIL:", f)
    torch_acc = float((torch_pred == labels).mean())
    print(f"{len(images)} test images{' (pfrt with f16 arithmetic)' if f16_arithmetic else ''}: pfrt and PyTorch agree "
          f"on {len(images) - len(differ)}, {len(explained)} near-ties (margin < {near_tie}) differ; accuracy pfrt {report['accuracy']:.4f}, PyTorch {torch_acc:.4f}; smallest "
          f"PyTorch margin {torch_margin.min():.3g}; largest margin difference {margin_err.max():.3g}; "
          f"pfrt-run {pfrt_seconds:.2f} s, PyTorch {torch_seconds:.2f} s")
    return 1 if failures else 0


def cmd_accuracy(model_dir, readme, pfrt_run):
    need_files(model_dir, ("model.pfrt", "results.json"))
    if not os.path.isfile(readme):
        skip(f"{readme} does not exist yet (it will carry the accuracy table)")
    _, (images_path, labels_path) = dataset()
    with open(os.path.join(model_dir, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    acc = float(results["test_accuracy"])
    failures = []
    if results.get("test_images", TEST_IMAGES) != TEST_IMAGES:
        failures.append(f"results.json's test_accuracy is over {results['test_images']} test images, not all {TEST_IMAGES}")
    out, seconds = run_pfrt(pfrt_run + [os.path.join(model_dir, "model.pfrt"), "--eval", images_path, labels_path,
                                        "--no-progress"])
    m = re.search(r"^accuracy ([0-9.]+) % \(([0-9]+) of ([0-9]+)\)", out, re.M)
    if not m:
        print(f"FAIL: no 'accuracy X % (C of N)' line in pfrt-run's output:\n{out}")
        return 1
    printed, correct, total = m.group(1) + " %", int(m.group(2)), int(m.group(3))
    figure = f"{100 * acc:.2f} %"
    if total != TEST_IMAGES:
        failures.append(f"pfrt-run evaluated {total} images, not {TEST_IMAGES}")
    if abs(correct - acc * total) >= 0.5:
        failures.append(f"pfrt-run: {correct} of {total} correct ({printed}); results.json's test_accuracy is {acc} "
                        f"({acc * total:.1f} images)")
    if printed != figure:
        failures.append(f"pfrt-run prints 'accuracy {printed}', results.json's test_accuracy is {figure}")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    if figure not in text:
        failures.append(f"{readme} does not contain the shipped model's accuracy '{figure}'")
    for f in failures:
        print("FAIL:", f)
    print(f"pfrt-run --eval: accuracy {printed} ({correct} of {total}) in {seconds:.2f} s; results.json {figure}; "
          f"{readme} {'has' if figure in text else 'lacks'} it")
    return 1 if failures else 0


def main():
    argv = sys.argv[1:]
    if "--" not in argv or not argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    args, pfrt_run = argv[:split], argv[split + 1:]
    count = TEST_IMAGES
    if "--images" in args:
        i = args.index("--images")
        count = int(args[i + 1])
        del args[i:i + 2]
        if not 1 <= count <= TEST_IMAGES:
            print(f"--images must be 1..{TEST_IMAGES}", file=sys.stderr)
            return 2
    if args[0] == "agree" and len(args) in (3, 4) and pfrt_run:
        return cmd_agree(args[1], args[2], pfrt_run, args[3] if len(args) == 4 else "f32", count)
    if args[0] == "accuracy" and len(args) == 3 and pfrt_run:
        return cmd_accuracy(args[1], args[2], pfrt_run)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
