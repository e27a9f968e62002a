#!/usr/bin/python3
"""Accuracy of a shipped model at f32, f16 and int8 in PyTorch (quantize.py's fake-quant), on
the Fashion-MNIST test images, and agreement with pfrt's predictions.

  eval_quantized.py MODEL_DIR [--pfrt-predictions PRECISION=FILE ...]

MODEL_DIR holds config.json and model.safetensors (reference/export.py). Each FILE is what
`pfrt-run MODEL --eval IMAGES LABELS --predictions FILE` wrote (per line: index, predicted class,
margin) for the model converted at PRECISION; the script prints how many predictions differ.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import fashion_mnist  # noqa: E402
import quantize  # noqa: E402


def predictions(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]).argmax(dim=1) for i in range(0, len(x), 500)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--pfrt-predictions", nargs="*", default=[], metavar="PRECISION=FILE")
    args = p.parse_args()
    model, _ = export.read_model(args.model_dir)
    images, labels = fashion_mnist.load("t10k")
    x = fashion_mnist.normalise(images)
    y = torch.from_numpy(labels.astype("int64"))
    torch_predictions = {}
    for precision in quantize.PRECISIONS:
        pred = predictions(quantize.fake_quantize(model, precision), x)
        torch_predictions[precision] = pred
        print(f"PyTorch {precision}: accuracy {100.0 * (pred == y).double().mean().item():.2f} % "
              f"({int((pred == y).sum())} of {len(y)})")
    for item in args.pfrt_predictions:
        precision, path = item.split("=", 1)
        with open(path) as f:
            pfrt = torch.tensor([int(line.split()[1]) for line in f if line.strip()])
        differ = int((pfrt != torch_predictions[precision]).sum())
        print(f"pfrt {precision}: accuracy {100.0 * (pfrt == y).double().mean().item():.2f} %, "
              f"{differ} of {len(y)} predictions differ from PyTorch {precision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
