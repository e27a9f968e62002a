#!/usr/bin/python3
"""Write a Para-Former as `model.safetensors` + `config.json`, the input of `pfrt-convert`.

  export.py random --out DIR [shape flags] [--seed S] [--inputs N]
      A random-weight model of any shape (tests, benchmarks). With --inputs N it also writes
      a parity fixture: N random inputs and PyTorch's logits for them, for every prefix.
  export.py checkpoint CKPT --out DIR [--channels C] [--patch-size P] [--head-dim 64 | --heads H]
                       [--pool cls|mean] [--mean ..] [--std ..] [--labels FILE] [--training MODE]
      A state_dict saved by the authors' training code (or ours): `.t7`/`.pth`, with or without
      the `module.` prefix of data-parallel training. Shapes determine most hyperparameters; the
      flags give what they do not. A `config.json` beside the checkpoint (reference/train.py
      writes one into its run folder) supplies them too; flags given win over it.

Flags are spelled as in pfrt-bench (--head-dim, --classes, --threads, --branches); the older
--dim-head and --num-classes are accepted as deprecated aliases.

Fixture files (little-endian float32, row-major): input.f32 [N, C, S, S], logits.f32 [N, K],
prefix_logits.f32 [B, N, K] (prefix k = 1..B), and fixture.json with N, B, K.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import pfrt_version  # noqa: E402
import safetensors_io  # noqa: E402
from paraformer import ParaFormer, ParaFormerConfig  # noqa: E402

CONFIG_FORMAT = "pfrt-paraformer"
CONFIG_FORMAT_VERSION = 1
DEFAULT_HEAD_DIM = 64  # the authors' head size, assumed when nothing says otherwise
TRAINING_MODES = ("progressive", "plain", "unknown")


class ExportError(Exception):
    pass


class ArgumentParser(argparse.ArgumentParser):
    """Usage errors as every pfrt tool gives them: one line naming the problem, a hint, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        prog = os.path.basename(self.prog.split()[0])
        print(f"{prog}: {message}\n(run '{self.prog} --help' for the options)", file=sys.stderr)
        sys.exit(2)


def config_json(cfg: ParaFormerConfig, *, mean: List[float], std: List[float], labels: Optional[List[str]],
                training: str, name: str) -> Dict[str, object]:
    if len(mean) != cfg.channels or len(std) != cfg.channels:
        raise ExportError(f"mean and std need {cfg.channels} value(s) (one per channel), got {len(mean)} and {len(std)}")
    if any(s <= 0 for s in std):
        raise ExportError(f"std values must be positive, got {std}")
    if labels is not None and len(labels) != cfg.num_classes:
        raise ExportError(f"{len(labels)} labels given for {cfg.num_classes} classes")
    if training not in TRAINING_MODES:
        raise ExportError(f"training mode must be one of {TRAINING_MODES}, got {training!r}")
    return {
        "format": CONFIG_FORMAT,
        "format_version": CONFIG_FORMAT_VERSION,
        "name": name,
        "image_size": cfg.image_size,
        "channels": cfg.channels,
        "patch_size": cfg.patch_size,
        "dim": cfg.dim,
        "heads": cfg.heads,
        "dim_head": cfg.dim_head,
        "mlp_dim": cfg.mlp_dim,
        "branches": cfg.branches,
        "blocks_per_branch": cfg.blocks_per_branch,
        "num_classes": cfg.num_classes,
        "pool": cfg.pool,
        "residual": cfg.residual,
        "layernorm_eps": cfg.layernorm_eps,
        "gelu": cfg.gelu,
        "merge_weights": list(cfg.merge_weights) if cfg.merge_weights is not None else None,
        "mean": mean,
        "std": std,
        "labels": labels,
        "training": training,
    }


def write_model(out_dir: str, model: ParaFormer, cfg_json: Dict[str, object]) -> None:
    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.float() for k, v in model.state_dict().items()}
    safetensors_io.save(os.path.join(out_dir, "model.safetensors"), tensors,
                        metadata={"producer": "pfrt reference/export.py"})
    text = json.dumps(cfg_json, indent=2) + "\n"
    safetensors_io.atomic_write(os.path.join(out_dir, "config.json"), text.encode("utf-8"))


def read_model(model_dir: str) -> Tuple[ParaFormer, Dict[str, object]]:
    """The inverse of write_model: the network of MODEL_DIR's config.json + model.safetensors
    (strictly loaded, in eval mode) and the config.json itself."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    cfg = ParaFormerConfig(image_size=c["image_size"], channels=c["channels"], patch_size=c["patch_size"],
                           dim=c["dim"], heads=c["heads"], dim_head=c["dim_head"], mlp_dim=c["mlp_dim"],
                           branches=c["branches"], blocks_per_branch=c["blocks_per_branch"],
                           num_classes=c["num_classes"], pool=c.get("pool", "cls"),
                           residual=c.get("residual", "normalized"), gelu=c.get("gelu", "erf"),
                           layernorm_eps=c.get("layernorm_eps", 1e-5), merge_weights=c.get("merge_weights"))
    model = ParaFormer(cfg)
    model.load_state_dict(safetensors_io.load(os.path.join(model_dir, "model.safetensors")), strict=True)
    model.eval()
    return model, c


def write_fixture(out_dir: str, model: ParaFormer, count: int, seed: int) -> None:
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(count, cfg.channels, cfg.image_size, cfg.image_size, generator=g)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        prefix = torch.stack([model(x, k) for k in range(1, cfg.branches + 1)])
    for name, t in (("input.f32", x), ("logits.f32", logits), ("prefix_logits.f32", prefix)):
        safetensors_io.atomic_write(os.path.join(out_dir, name), t.contiguous().numpy().astype("<f4").tobytes())
    meta = {"inputs": count, "branches": cfg.branches, "classes": cfg.num_classes,
            "input_shape": [count, cfg.channels, cfg.image_size, cfg.image_size]}
    safetensors_io.atomic_write(os.path.join(out_dir, "fixture.json"), (json.dumps(meta) + "\n").encode())


def randomize(model: ParaFormer, seed: int) -> None:
    """Random weights that exercise every parameter (LayerNorm affine and biases included)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in ("cls_token", "pos_embedding"):
                p.normal_(0.0, 0.5)
            elif p.dim() == 1 and ".norm." in name or name.startswith("mlp_head.0"):
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
            elif p.dim() == 2:
                bound = 1.0 / math.sqrt(p.shape[1])
                p.uniform_(-bound, bound)
            else:
                p.uniform_(-0.1, 0.1)


def cmd_random(args: argparse.Namespace) -> None:
    merge = [float(v) for v in args.merge_weights.split(",")] if args.merge_weights else None
    cfg = ParaFormerConfig(image_size=args.image_size, channels=args.channels, patch_size=args.patch_size,
                           dim=args.dim, heads=args.heads, dim_head=args.dim_head, mlp_dim=args.mlp_dim,
                           branches=args.branches, blocks_per_branch=args.blocks_per_branch,
                           num_classes=args.num_classes, pool=args.pool, residual=args.residual,
                           gelu=args.gelu, merge_weights=merge)
    model = ParaFormer(cfg)
    randomize(model, args.seed)
    labels = [f"class {i}" for i in range(cfg.num_classes)]
    write_model(args.out, model, config_json(cfg, mean=[0.5] * cfg.channels, std=[0.25] * cfg.channels,
                                             labels=labels, training="unknown", name=f"random-seed{args.seed}"))
    if args.inputs:
        write_fixture(args.out, model, args.inputs, args.seed)


# ----- authors' checkpoints -------------------------------------------------------------------

BRANCH_KEY = re.compile(r"^paraformerbranches\.branches\.(\d+)\.(\d+)\.")


def load_state_dict(path: str) -> Dict[str, torch.Tensor]:
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such file")
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for a bad file
        raise ExportError(f"{path}: not a readable PyTorch checkpoint ({e})") from None
    for wrapper in ("state_dict", "model", "net"):
        if isinstance(obj, dict) and wrapper in obj and isinstance(obj[wrapper], dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ExportError(f"{path}: expected a state_dict (names -> tensors), got {type(obj).__name__}")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def need(sd: Dict[str, torch.Tensor], key: str, ndim: int) -> torch.Tensor:
    if key not in sd:
        raise ExportError(f"checkpoint has no tensor '{key}' (is it a Para-Former in the authors' layout?)")
    t = sd[key]
    if t.dim() != ndim:
        raise ExportError(f"tensor '{key}' has shape {list(t.shape)}, expected {ndim} dimensions")
    return t


def config_beside(checkpoint: str) -> Optional[Dict[str, object]]:
    """The pfrt config.json in the checkpoint's folder (reference/train.py writes one), or None."""
    path = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), "config.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: not a readable config.json ({e})") from None
    if not isinstance(c, dict) or c.get("format") != CONFIG_FORMAT:
        return None
    print(f"export.py: using {path} for what the tensor shapes leave open (flags given win)", file=sys.stderr)
    return c


def apply_config_beside(args: argparse.Namespace) -> None:
    """Fill the flags not given from config.json beside the checkpoint."""
    c = config_beside(args.checkpoint)
    if c is None:
        return
    for flag, key in (("channels", "channels"), ("patch_size", "patch_size"), ("pool", "pool"), ("mean", "mean"),
                      ("std", "std"), ("training", "training"), ("name", "name")):
        if getattr(args, flag) is None and c.get(key) is not None:
            setattr(args, flag, c[key])
    if args.heads is None and args.dim_head is None:
        args.heads, args.dim_head = c.get("heads"), c.get("dim_head")
    if args.labels is None and isinstance(c.get("labels"), list):
        args.label_list = [str(v) for v in c["labels"]]


def infer_config(sd: Dict[str, torch.Tensor], args: argparse.Namespace) -> ParaFormerConfig:
    dim = need(sd, "cls_token", 3).shape[-1]
    tokens = need(sd, "pos_embedding", 3).shape[1]
    patch_dim = need(sd, "to_patch_embedding.1.weight", 2).shape[1]
    num_classes = need(sd, "mlp_head.1.weight", 2).shape[0]
    grid = math.isqrt(tokens - 1)
    if grid * grid != tokens - 1:
        raise ExportError(f"pos_embedding has {tokens} rows: {tokens - 1} patches is not a square grid")

    if args.channels and args.patch_size:
        channels, patch = args.channels, args.patch_size
    elif args.channels or args.patch_size:
        channels = args.channels or patch_dim // (args.patch_size ** 2)
        patch = args.patch_size or math.isqrt(patch_dim // channels)
    else:
        fits = [(c, math.isqrt(patch_dim // c)) for c in (1, 3)
                if patch_dim % c == 0 and math.isqrt(patch_dim // c) ** 2 == patch_dim // c]
        if len(fits) != 1:
            raise ExportError(f"patch embedding takes {patch_dim} values per patch: pass --channels or --patch-size")
        channels, patch = fits[0]
    if channels * patch * patch != patch_dim:
        raise ExportError(f"channels {channels} x patch {patch}x{patch} = {channels * patch * patch}, "
                          f"but the patch embedding takes {patch_dim} values")

    layers: Dict[int, set] = {}
    for key in sd:
        m = BRANCH_KEY.match(key)
        if m:
            layers.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    if not layers:
        raise ExportError("checkpoint has no 'paraformerbranches.branches.*' tensors")
    branches = max(layers) + 1
    if sorted(layers) != list(range(branches)):
        raise ExportError(f"branch indices {sorted(layers)} are not 0..{branches - 1}")
    depth_layers = {len(v) for v in layers.values()}
    if len(depth_layers) != 1 or any(v != set(range(len(v))) for v in layers.values()):
        raise ExportError("branches have different numbers of layers")
    n_layers = depth_layers.pop()
    if n_layers % 2:
        raise ExportError(f"branches have {n_layers} layers; a block is an attention layer plus an MLP layer")

    qkv = need(sd, "paraformerbranches.branches.0.0.fn.to_qkv.weight", 2).shape[0]
    if qkv % 3:
        raise ExportError(f"to_qkv produces {qkv} values, not a multiple of 3")
    inner = qkv // 3
    if args.heads and args.dim_head and args.heads * args.dim_head != inner:
        raise ExportError(f"--heads {args.heads} x --head-dim {args.dim_head} = {args.heads * args.dim_head}, but "
                          f"to_qkv is {inner} wide per q/k/v: give one of them")
    if args.heads:
        heads = args.heads
        if inner % heads:
            raise ExportError(f"to_qkv width {inner} per q/k/v does not split into {heads} heads: "
                              f"pass the right --heads or --head-dim")
        dim_head = inner // heads
    else:
        dim_head = args.dim_head or DEFAULT_HEAD_DIM
        if inner % dim_head:
            raise ExportError(f"to_qkv width {inner} per q/k/v is not a multiple of head size {dim_head}"
                              f"{'' if args.dim_head else ' (the authors default)'}: pass --heads or --head-dim")
        heads = inner // dim_head
    mlp_dim = need(sd, "paraformerbranches.branches.0.1.fn.net.0.weight", 2).shape[0]
    return ParaFormerConfig(image_size=grid * patch, channels=channels, patch_size=patch, dim=dim, heads=heads,
                            dim_head=dim_head, mlp_dim=mlp_dim, branches=branches, blocks_per_branch=n_layers // 2,
                            num_classes=num_classes, pool=args.pool or "cls")


def cmd_checkpoint(args: argparse.Namespace) -> None:
    sd = load_state_dict(args.checkpoint)
    args.label_list = None
    apply_config_beside(args)
    cfg = infer_config(sd, args)
    model = ParaFormer(cfg)
    result = model.load_state_dict(sd, strict=False)
    problems = [f"missing tensor '{k}'" for k in result.missing_keys]
    problems += [f"unexpected tensor '{k}'" for k in result.unexpected_keys]
    if problems:
        hint = ""
        if any(".fn.to_out." in p for p in problems):
            hint = (f" (the output projection exists only when heads x head size is not 1 x D: the head split "
                    f"{cfg.heads} x {cfg.dim_head} was {'given' if args.heads or args.dim_head else 'guessed'}; "
                    f"pass --heads or --head-dim)")
        raise ExportError("checkpoint does not match the inferred configuration "
                          f"(D={cfg.dim}, heads={cfg.heads}x{cfg.dim_head}, B={cfg.branches}, "
                          f"d={cfg.blocks_per_branch}): " + "; ".join(problems) + hint)
    labels = args.label_list
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            labels = [line.rstrip("\n") for line in f if line.strip()]
    mean = args.mean or [0.5] * cfg.channels
    std = args.std or [0.2] * cfg.channels
    with open(args.checkpoint, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    name = args.name or os.path.splitext(os.path.basename(args.checkpoint))[0]
    write_model(args.out, model, config_json(cfg, mean=mean, std=std, labels=labels,
                                             training=args.training or "unknown", name=name))
    print(f"{args.checkpoint} (sha256 {digest[:16]}…): {cfg.image_size}x{cfg.image_size}x{cfg.channels}, "
          f"patch {cfg.patch_size}, D={cfg.dim}, {cfg.heads} heads x {cfg.dim_head}, MLP {cfg.mlp_dim}, "
          f"B={cfg.branches} x d={cfg.blocks_per_branch}, {cfg.num_classes} classes, pool {cfg.pool} "
          f"-> {args.out}/model.safetensors + config.json")


def add_shape_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--patch-size", type=int, default=4)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--head-dim", "--dim-head", dest="dim_head", type=int, default=16,
                   help="head size d_h (--dim-head: deprecated spelling)")
    p.add_argument("--mlp-dim", type=int, default=128)
    p.add_argument("--branches", type=int, default=2)
    p.add_argument("--blocks-per-branch", type=int, default=1)
    p.add_argument("--classes", "--num-classes", dest="num_classes", type=int, default=10,
                   help="classes K (--num-classes: deprecated spelling)")
    p.add_argument("--pool", choices=("cls", "mean"), default="cls")
    p.add_argument("--residual", choices=("normalized", "prenorm"), default="normalized")
    p.add_argument("--gelu", choices=("erf", "tanh"), default="erf")
    p.add_argument("--merge-weights", help="comma-separated weight per branch (default: plain sum)")


def main(argv: Optional[List[str]] = None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"export.py {pfrt_version.version()} (pfrt)")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("random", help="random-weight model (and parity fixture)")
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--inputs", type=int, default=0, help="also write a parity fixture with N inputs")
    add_shape_flags(r)
    r.set_defaults(func=cmd_random)

    c = sub.add_parser("checkpoint", help="a state_dict in the authors' key layout")
    c.add_argument("checkpoint")
    c.add_argument("--out", required=True)
    c.add_argument("--channels", type=int, help="image channels, when the patch size does not determine it")
    c.add_argument("--patch-size", type=int, help="patch size, when the channel count does not determine it")
    c.add_argument("--heads", type=int, help="attention heads (default: derived from --head-dim)")
    c.add_argument("--head-dim", "--dim-head", dest="dim_head", type=int,
                   help="head size (default: config.json beside the checkpoint, else the authors' 64)")
    c.add_argument("--pool", choices=("cls", "mean"), help="pooling the model was trained with (default cls)")
    c.add_argument("--mean", type=float, nargs="+", help="per-channel input mean (default 0.5)")
    c.add_argument("--std", type=float, nargs="+", help="per-channel input std (default 0.2)")
    c.add_argument("--labels", help="text file with one class label per line")
    c.add_argument("--training", choices=TRAINING_MODES,
                   help="how the branches were trained (progressive makes prefixes meaningful)")
    c.add_argument("--name", help="model name stored in config.json")
    c.set_defaults(func=cmd_checkpoint)

    args = parser.parse_args(argv)
    for name in ("inputs", "seed"):
        if getattr(args, name, 0) < 0:
            parser.error(f"--{name} must not be negative, got {getattr(args, name)}")
    for name in ("image_size", "channels", "patch_size", "dim", "heads", "dim_head", "mlp_dim", "branches",
                 "blocks_per_branch", "num_classes"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    try:
        args.func(args)
    except (ExportError, ValueError, safetensors_io.OutputError) as e:
        print(f"export.py: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"export.py: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
