#!/usr/bin/python3
"""A camera-like JPEG of a Fashion-MNIST sample, for the demo and the test that a JPEG photo is
classified: the 28x28 grey image enlarged 8x (bicubic) to 224x224, turned into colour with a
warm tint and an uneven light, given sensor noise, and saved as a 4:2:0 JPEG of quality 85.

  photo_sample.py SAMPLE.pgm OUT.jpg [--seed N]
"""
import argparse
import io
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from output_file import atomic_write  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sample")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    grey = Image.open(args.sample).convert("L").resize((224, 224), Image.BICUBIC)
    g = np.asarray(grey).astype(np.float64)
    y, x = np.mgrid[0:224, 0:224] / 223.0
    light = 0.85 + 0.15 * (1 - ((x - 0.4) ** 2 + (y - 0.45) ** 2))  # brighter near the centre
    tint = np.array([1.0, 0.93, 0.82])  # warm white balance
    rgb = g[:, :, None] * light[:, :, None] * tint + 12 + rng.normal(0, 4, (224, 224, 3))
    jpeg = io.BytesIO()
    Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB").save(jpeg, "JPEG", quality=85,
                                                                                subsampling=2)
    atomic_write(args.out, jpeg.getvalue())  # as every pfrt tool writes a file (README, "Output files")


if __name__ == "__main__":
    main()
