#!/usr/bin/python3
"""Static (calibrated) against dynamic (per-row) int8 activations, measured on a model and the
Fashion-MNIST test images: the study behind pfrt's choice of dynamic per-row scales (README,
"int8 and f16 models").

  calibration_study.py MODEL_DIR [--calibration-count N] [--percentiles P ...]

Static: one scale per GEMM input tensor, s = percentile_P(|x|) / 127 over the inputs that GEMM
sees on the first N training images (the calibration set), values beyond it clipped to +-127.
Dynamic: quantize.py's per-row scales, computed at run time. Both use the same per-channel int8
weights and exact integer sums (quantize.py), so they differ only in the activations. Prints, for
each, the accuracy on the 10,000 test images, how many predictions differ from f32, and the
mean and largest |logit - f32 logit|.
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import fashion_mnist  # noqa: E402
import quantize  # noqa: E402


class StaticInt8Linear(quantize.Int8Linear):
    """An Int8Linear whose input scale is a constant found by calibration."""

    def __init__(self, linear: nn.Linear):
        super().__init__(linear)
        self.samples = []  # |x| values seen while calibrating
        self.input_scale = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_scale is None:  # calibrating: record |x|, then the int8 weights with x unquantised
            self.samples.append(x.detach().abs().flatten().float())
            y = torch.matmul(x, (self.q_weight * self.weight_scale[:, None]).t())
            return y if self.bias is None else y + self.bias
        q = torch.round(x.float() / self.input_scale).clamp(-127, 127)
        acc = quantize.exact_int_matmul(q, self.q_weight)
        y = acc * (self.input_scale * self.weight_scale)
        return y if self.bias is None else y + self.bias

    def calibrate(self, percentile: float) -> None:
        values = torch.cat(self.samples)
        if len(values) > 16_000_000:  # torch.quantile's limit; a strided sample keeps the tail's shape
            values = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(0))[:16_000_000]]
        amax = values.max() if percentile >= 100 else torch.quantile(values, percentile / 100.0)
        self.input_scale = float(amax) / 127.0 if float(amax) > 0 else 1.0


def static_model(model: nn.Module) -> nn.Module:
    """A copy of `model` whose nn.Linear layers are StaticInt8Linear (not yet calibrated)."""
    model = quantize.fake_quantize(model, "f32")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, StaticInt8Linear(child))
    return model


def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--calibration-count", type=int, default=1000, help="training images to calibrate on (default 1000)")
    p.add_argument("--percentiles", type=float, nargs="+", default=[100.0, 99.99, 99.9, 99.0])
    args = p.parse_args()
    if args.calibration_count < 1:
        p.error("--calibration-count must be at least 1")
    model, _ = export.read_model(args.model_dir)
    test_images, test_labels = fashion_mnist.load("t10k")
    train_images, _ = fashion_mnist.load("train")
    x = fashion_mnist.normalise(test_images)
    y = torch.from_numpy(test_labels.astype("int64"))
    calibration = fashion_mnist.normalise(train_images[:args.calibration_count])

    reference = logits(model, x)

    def report(name: str, out: torch.Tensor) -> None:
        pred = out.argmax(dim=1)
        err = (out - reference).abs()
        print(f"{name:<34} accuracy {100.0 * (pred == y).double().mean().item():6.2f} %   "
              f"{int((pred != reference.argmax(dim=1)).sum()):4d} predictions differ from f32   "
              f"|logit - f32| mean {err.mean().item():.4f} max {err.max().item():.4f}")

    report("f32", reference)
    report("int8, dynamic per-row", logits(quantize.fake_quantize(model, "int8"), x))
    static = static_model(model)
    logits(static, calibration)  # records every GEMM input
    layers = [m for m in static.modules() if isinstance(m, StaticInt8Linear)]
    for percentile in args.percentiles:
        for layer in layers:
            layer.calibrate(percentile)
        report(f"int8, static p{percentile:g} ({args.calibration_count} images)", logits(static, x))
    return 0


if __name__ == "__main__":
    sys.exit(main())
