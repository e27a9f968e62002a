#!/usr/bin/python3
"""Train a Para-Former (or a serial ViT of the same blocks) on Fashion-MNIST, on the CPU.

  train.py --branches 8 --mode progressive --out runs/para-b8-progressive
  train.py --serial --blocks 4 --out runs/serial-l4

Progressive approximation (arXiv 2510.15425): for every mini-batch, one optimiser step on the
loss of each prefix of branches 1..k for k = 1..B-1, then one full-model step (k = B), so that
every prefix is a trained model of its own. `--mode plain` takes only the full-model step.

Each epoch prints loss, train and test accuracy. The model is saved after every epoch as a
state_dict in the authors' key layout (`checkpoint.pth`, written atomically) with the optimiser
state beside it (`train_state.pth`, for --resume); at the end the run writes `results.json`
(test accuracy of every prefix, parameters, time) and exports `config.json` +
`model.safetensors` for pfrt-convert.
"""

import argparse
import json
import math
import os
import sys
import io
import time
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import fashion_mnist  # noqa: E402
from paraformer import ParaFormer, ParaFormerConfig, parameter_count  # noqa: E402


def atomic_torch_save(obj: object, path: str) -> None:
    """torch.save through safetensors_io.atomic_write: never half-written, never over a device."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    export.safetensors_io.atomic_write(path, buffer.getvalue())


def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def prefix_accuracies(model: ParaFormer, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> List[float]:
    """Test accuracy of every prefix k = 1..B: the branches run once, their running sum feeds the head."""
    model.eval()
    cfg = model.cfg
    correct = torch.zeros(cfg.branches, dtype=torch.long)
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        x0 = model.stem(xb)
        total = None
        for k in range(cfg.branches):
            out = model.paraformerbranches.branches[k](x0)
            if model.merge_weights is not None:
                out = out * model.merge_weights[k]
            total = out if total is None else total + out
            correct[k] += (model.head(total).argmax(1) == yb).sum()
    return [float(c) / len(x) for c in correct]


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip of half the images (Fashion-MNIST classes are mirror-symmetric)."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


class Progress:
    """A one-line progress bar on a terminal; silent otherwise (logs stay clean)."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.tty = total, label, sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, loss: float) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.5 and done < self.total):
            return
        self.last = now
        width = 30
        filled = width * done // self.total
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                         f"loss {loss:.4f}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def make_config(args: argparse.Namespace) -> ParaFormerConfig:
    branches, blocks = (1, args.blocks) if args.serial else (args.branches, args.blocks)
    return ParaFormerConfig(image_size=28, channels=1, patch_size=args.patch_size, dim=args.dim, heads=args.heads,
                            dim_head=args.dim_head, mlp_dim=args.mlp_dim, branches=branches,
                            blocks_per_branch=blocks, num_classes=len(fashion_mnist.LABELS), pool="cls")


def train(args: argparse.Namespace) -> Dict[str, object]:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    train_images, train_labels = fashion_mnist.load("train", args.data)
    test_images, test_labels = fashion_mnist.load("t10k", args.data)
    if args.limit:
        train_images, train_labels = train_images[:args.limit], train_labels[:args.limit]
        test_images, test_labels = test_images[:args.limit], test_labels[:args.limit]
    x_train, y_train = fashion_mnist.normalise(train_images), torch.from_numpy(train_labels).long()
    x_test, y_test = fashion_mnist.normalise(test_images), torch.from_numpy(test_labels).long()

    cfg = make_config(args)
    model = ParaFormer(cfg)
    # One branch has no proper prefix: progressive training is then plain training.
    mode = "plain" if cfg.branches == 1 else args.mode
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = min(total_steps // 10, 2 * steps_per_epoch) or 1

    checkpoint = os.path.join(args.out, "checkpoint.pth")
    state_path = os.path.join(args.out, "train_state.pth")
    first_epoch, elapsed, resumed_shuffle = 0, 0.0, None
    if args.resume and not os.path.isfile(state_path):
        raise export.ExportError(f"--resume: {state_path} does not exist (no earlier run to continue in {args.out}; "
                                 f"leave out --resume to start one)")
    # The configuration beside the checkpoints from the start, so that `export.py checkpoint
    # checkpoint.pth` knows what the shapes leave open (head size, channels, pooling, labels).
    config = export.config_json(cfg, mean=[fashion_mnist.MEAN], std=[fashion_mnist.STD], labels=fashion_mnist.LABELS,
                                training=mode, name=args.name or os.path.basename(os.path.normpath(args.out)))
    export.safetensors_io.atomic_write(os.path.join(args.out, "config.json"),
                                       (json.dumps(config, indent=2) + "\n").encode("utf-8"))
    if args.resume:
        try:
            state = torch.load(state_path)
        except Exception as e:  # torch raises many kinds for a bad file
            raise export.ExportError(f"--resume: {state_path} is not a readable training state ({e})") from None
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        first_epoch, elapsed = state["epoch"], state["elapsed"]
        torch.set_rng_state(state["rng"])
        resumed_shuffle = state["shuffle"]
        print(f"resumed {args.out} after epoch {first_epoch}", flush=True)

    kind = "serial ViT" if args.serial else "Para-Former"
    print(f"{kind}: B={cfg.branches} x d={cfg.blocks_per_branch}, D={cfg.dim}, {cfg.heads} heads x {cfg.dim_head}, "
          f"MLP {cfg.mlp_dim}, patch {cfg.patch_size} ({cfg.tokens} tokens), {parameter_count(model):,} parameters, "
          f"training {mode}, {args.epochs} epochs, batch {args.batch_size}, {args.threads} thread(s)", flush=True)

    shuffle = torch.Generator().manual_seed(args.seed + 1)
    if resumed_shuffle is not None:  # keep the data order of an uninterrupted run
        shuffle.set_state(resumed_shuffle)

    for epoch in range(first_epoch, args.epochs):
        model.train()
        start = time.monotonic()
        order = torch.randperm(len(x_train), generator=shuffle)
        loss_sum, correct, seen = 0.0, 0, 0
        progress = Progress(steps_per_epoch, f"epoch {epoch + 1}/{args.epochs}")
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size:(i + 1) * args.batch_size]
            xb, yb = augment(x_train[idx], shuffle), y_train[idx]
            lr = lr_at(epoch * steps_per_epoch + i, total_steps, args.lr, warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr
            prefixes = range(1, cfg.branches) if mode == "progressive" else range(0)
            for k in list(prefixes) + [cfg.branches]:
                optimizer.zero_grad(set_to_none=True)
                logits = model(xb, k)
                loss = F.cross_entropy(logits, yb)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                optimizer.step()
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            progress.update(i + 1, loss_sum / seen)
        progress.close()
        elapsed += time.monotonic() - start
        test_acc = prefix_accuracies(model, x_test, y_test)[-1]
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / seen:.4f}, train acc {correct / seen:.4f}, "
              f"test acc {test_acc:.4f}, {time.monotonic() - start:.0f} s", flush=True)
        atomic_torch_save(model.state_dict(), checkpoint)
        atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                           "elapsed": elapsed, "rng": torch.get_rng_state(),
                           "shuffle": shuffle.get_state()}, state_path)

    prefix = prefix_accuracies(model, x_test, y_test)
    results = {
        "kind": "serial" if args.serial else "parallel",
        "training": mode,
        "branches": cfg.branches,
        "blocks_per_branch": cfg.blocks_per_branch,
        "depth": cfg.blocks_per_branch if args.serial else cfg.branches,
        "parameters": parameter_count(model),
        "epochs": args.epochs,
        "train_seconds": round(elapsed, 1),
        "threads": args.threads,
        "test_images": len(x_test),
        "test_accuracy": prefix[-1],
        "prefix_accuracy": prefix if cfg.branches > 1 else [],
        "command": " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)] + sys.argv[1:]),
    }
    export.write_model(args.out, model, config)
    export.safetensors_io.atomic_write(os.path.join(args.out, "results.json"),
                                       (json.dumps(results, indent=2) + "\n").encode("utf-8"))
    print(f"test accuracy {prefix[-1]:.4f}" + (f", prefixes k=1..{cfg.branches}: " +
          " ".join(f"{a:.4f}" for a in prefix) if cfg.branches > 1 else "") +
          f"; trained in {elapsed / 60:.1f} min -> {args.out}", flush=True)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    p = export.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"train.py {export.pfrt_version.version()} (pfrt)")
    p.add_argument("--out", required=True, help="run folder (checkpoint, results, exported model)")
    p.add_argument("--branches", type=int, default=8, help="parallel branches B (Para-Former)")
    p.add_argument("--serial", action="store_true", help="a serial ViT: one branch of --blocks blocks")
    p.add_argument("--blocks", type=int, default=1, help="blocks per branch (serial: depth L)")
    p.add_argument("--mode", choices=("progressive", "plain"), default="progressive")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (the authors use 1.0)")
    p.add_argument("--patch-size", type=int, default=7)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--head-dim", "--dim-head", dest="dim_head", type=int, default=16,
                   help="head size d_h (--dim-head: deprecated spelling)")
    p.add_argument("--mlp-dim", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    p.add_argument("--data", default=fashion_mnist.DEFAULT_DIR, help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images of each split (smoke tests)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's train_state.pth")
    p.add_argument("--name", help="model name stored in config.json (default: the run folder's name)")
    args = p.parse_args(argv)
    for name in ("branches", "blocks", "epochs", "batch_size", "threads", "patch_size", "dim", "heads", "dim_head",
                 "mlp_dim"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.limit < 0:
        p.error(f"--limit must not be negative, got {args.limit} (0: every image)")
    try:
        train(args)
    except (fashion_mnist.DatasetError, export.ExportError, ValueError, export.safetensors_io.OutputError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"train.py: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
