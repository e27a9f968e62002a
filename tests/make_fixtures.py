#!/usr/bin/python3
"""Writes the parity fixtures: random-weight models of several shapes with PyTorch's logits.

  make_fixtures.py OUT_DIR

Each OUT_DIR/<shape>/ holds config.json, model.safetensors, input.f32, logits.f32 and
prefix_logits.f32 (see reference/export.py); OUT_DIR/index.txt lists the shapes. Exits 77
(CTest's "skipped") when PyTorch is not installed.
"""
import os
import sys

try:
    import torch  # noqa: F401
except ImportError:
    print("PyTorch is not installed (apt-get install python3-torch): parity fixtures skipped")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "reference"))
import export  # noqa: E402

# name -> export.py flags. Together they cover: 1, 2, 4 branches; 1 and 3 blocks per branch;
# serial ViT; both poolings; RGB; no output projection; pre-norm residual, tanh GELU and merge
# weights; odd token counts; and one DeiT-Tiny-shaped model (197 tokens, 192 wide).
SHAPES = {
    "b1_d1_cls": "--branches 1 --blocks-per-branch 1",
    "b2_d1_mean": "--branches 2 --blocks-per-branch 1 --pool mean",
    "b4_d1_cls": "--branches 4 --blocks-per-branch 1 --patch-size 7 --dim 48 --heads 3 --head-dim 16 --mlp-dim 96",
    "b4_d3_cls": "--branches 4 --blocks-per-branch 3 --patch-size 7",
    "b2_d3_mean_rgb": "--branches 2 --blocks-per-branch 3 --pool mean --image-size 32 --channels 3 --patch-size 8 "
                      "--dim 40 --heads 5 --head-dim 8 --mlp-dim 72 --classes 7",
    "serial_l4": "--branches 1 --blocks-per-branch 4 --patch-size 7",
    "b2_noproj": "--branches 2 --heads 1 --head-dim 64 --dim 64",
    "b3_prenorm_tanh_weighted": "--branches 3 --residual prenorm --gelu tanh --merge-weights 0.5,-1.25,2 --patch-size 14",
    "deit_tiny_b2": "--branches 2 --image-size 224 --channels 3 --patch-size 16 --dim 192 --heads 3 --head-dim 64 "
                    "--mlp-dim 768 --classes 100",
}


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seed, (name, flags) in enumerate(SHAPES.items()):
        inputs = 2 if name.startswith("deit") else 3
        rc = export.main(["random", "--out", os.path.join(out, name), "--seed", str(seed), "--inputs", str(inputs)]
                         + flags.split())
        if rc != 0:
            return rc
    with open(os.path.join(out, "index.txt"), "w") as f:
        f.write("\n".join(SHAPES) + "\n")
    print(f"wrote {len(SHAPES)} parity fixtures to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
