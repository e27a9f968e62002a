#!/usr/bin/python3
"""Copies a trained run into a model folder of the repository, ready to use.

  ship_model.py RUN_DIR OUT_DIR --convert build/release/converter/pfrt-convert [--samples 10]

OUT_DIR receives config.json + model.safetensors (what the model came from), results.json (its
training run's figures, which the tests check pfrt against), model.pfrt (made by pfrt-convert),
labels.txt, and samples/: test images as binary PGM files, the first test
image of each class, named <test index>-<label>.pgm so that tools can check their answers.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
from safetensors_io import atomic_write  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("out_dir")
    p.add_argument("--convert", required=True, help="path to the pfrt-convert executable")
    p.add_argument("--samples", type=int, default=10, help="number of sample images (one per class first)")
    args = p.parse_args()

    for name in ("config.json", "model.safetensors", "results.json"):
        if not os.path.isfile(os.path.join(args.run_dir, name)):
            print(f"ship_model.py: {args.run_dir} has no {name}: train it with reference/train.py", file=sys.stderr)
            return 1
    os.makedirs(os.path.join(args.out_dir, "samples"), exist_ok=True)
    for name in ("config.json", "model.safetensors", "results.json"):
        shutil.copyfile(os.path.join(args.run_dir, name), os.path.join(args.out_dir, name))
    with open(os.path.join(args.out_dir, "config.json"), encoding="utf-8") as f:
        labels = json.load(f)["labels"]
    atomic_write(os.path.join(args.out_dir, "labels.txt"), ("\n".join(labels) + "\n").encode("utf-8"))
    subprocess.run([args.convert, "--config", os.path.join(args.out_dir, "config.json"),
                    "--weights", os.path.join(args.out_dir, "model.safetensors"),
                    "-o", os.path.join(args.out_dir, "model.pfrt")], check=True)

    images, classes = fashion_mnist.load("t10k")
    chosen, seen = [], set()
    for i, c in enumerate(classes):  # the first image of each class, then the next ones in order
        if c not in seen:
            seen.add(c)
            chosen.append(i)
    chosen += [i for i in range(len(classes)) if i not in chosen][:max(0, args.samples - len(chosen))]
    for i in sorted(chosen[:args.samples]):
        label = fashion_mnist.LABELS[classes[i]].replace("/", "-").replace(" ", "-").lower()
        pgm = b"P5\n28 28\n255\n" + images[i].tobytes()
        atomic_write(os.path.join(args.out_dir, "samples", f"{i:05d}-{label}.pgm"), pgm)
    print(f"ship_model.py: {args.run_dir} -> {args.out_dir} (model.pfrt, labels.txt, {min(args.samples, len(chosen))} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
