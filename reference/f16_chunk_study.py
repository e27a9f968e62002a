#!/usr/bin/python3
"""How long a run of k the cpu backend's f16 GEMM may sum in f16 before adding into f32: the
study behind its chunks of 16 (README, "int8 and f16 models"; runtime/src/cpu/kernels/f16_kernel.hpp).

  f16_chunk_study.py [--rows 64] [--outputs 64] [--seed 1]

One GEMM of DeiT-Tiny's widths (K = 192 and K = 768), x ~ N(0, 1) (a LayerNorm's output),
weights ~ N(0, 0.02) rounded to f16 (an f16 model's). For each chunk length C the kernel's
arithmetic is computed in numpy: x rounded to f16, then per chunk h = fl16(h + w * x) in k order
(one rounding to f16 per step, as FMLA does: the product of two halves is exact in float64, and
so is the sum here), each chunk's h added into a float32 sum. Prints the error against the exact
product of the f16 weights and the unrounded x (what f32 PyTorch computes on an f16 model):
max |error| / max |y|, rms error / rms y, and the largest |error| / sum_k |x w|.
"""
import argparse

import numpy as np


def chunked(x, w, chunk):
    """The kernel's arithmetic: x [R, K] float64, w [N, K] f16 values as float64."""
    x16 = x.astype(np.float16).astype(np.float64)
    rows, k_total = x.shape
    total = np.zeros((rows, w.shape[0]), dtype=np.float32)
    for k0 in range(0, k_total, chunk):
        h = np.zeros((rows, w.shape[0]), dtype=np.float16)
        for k in range(k0, min(k_total, k0 + chunk)):
            h = (h.astype(np.float64) + np.outer(x16[:, k], w[:, k])).astype(np.float16)
        total += h.astype(np.float32)
    return total.astype(np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--outputs", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for k_total in (192, 768):
        x = rng.standard_normal((args.rows, k_total))
        w = (rng.standard_normal((args.outputs, k_total)) * 0.02).astype(np.float16).astype(np.float64)
        exact = x @ w.T
        magnitude = np.abs(x) @ np.abs(w).T
        print(f"K={k_total}, {args.rows} x {args.outputs} outputs, x ~ N(0, 1), w ~ N(0, 0.02) in f16")
        for chunk in sorted({8, 16, 32, 64, 128, k_total}):
            err = np.abs(chunked(x, w, chunk) - exact)
            print(f"  chunk {chunk:4d}: max|err|/max|y| {err.max() / np.abs(exact).max():.2e}  "
                  f"rms err/rms y {np.sqrt((err ** 2).mean() / (exact ** 2).mean()):.2e}  "
                  f"max |err|/sum|xw| {(err / magnitude).max():.2e}")


if __name__ == "__main__":
    main()
