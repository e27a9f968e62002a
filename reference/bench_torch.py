#!/usr/bin/python3
"""Times a Para-Former in PyTorch on a given number of threads, to compare with pfrt-bench.

  bench_torch.py MODEL_DIR [--threads N] [--batch N] [--runs N] [--warmup N] [--json]
      MODEL_DIR holds config.json + model.safetensors (what reference/export.py writes and
      pfrt-convert reads): the same network as the .pfrt file pfrt-bench times.
  bench_torch.py --sweep [shape options] [--branches LIST] [--blocks LIST] [--threads N] [--json]
      random-weight models of one block shape (DeiT-Tiny by default), B parallel branches and
      L serial blocks: the rows of `pfrt-bench --sweep`, in the same text or JSON layout.

PyTorch multiplies through OpenBLAS, which ignores torch.set_num_threads: this script sets
OPENBLAS_NUM_THREADS, OMP_NUM_THREADS (and OMP_WAIT_POLICY=PASSIVE for more than one thread)
before importing torch, so the thread count is the one asked for. Run it with /usr/bin/python3.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Dict, List


def parse_list(text: str) -> List[int]:
    if text == "none":
        return []
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': depths must be positive")
    return values


def positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def arguments(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", nargs="?", help="folder with config.json and model.safetensors")
    p.add_argument("--threads", type=positive, default=1, help="threads (default 1)")
    p.add_argument("--batch", type=positive, default=1)
    p.add_argument("--runs", type=positive, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--sweep", action="store_true")
    p.add_argument("--branches", type=parse_list, default=[1, 2, 4, 8, 12], help="--sweep: parallel depths")
    p.add_argument("--blocks", type=parse_list, default=[1, 2, 4, 8, 12], help="--sweep: serial depths")
    for name, default in (("image-size", 224), ("channels", 3), ("patch-size", 16), ("dim", 192), ("heads", 3),
                          ("head-dim", 64), ("mlp-dim", 768), ("classes", 1000)):
        p.add_argument(f"--{name}", type=positive, default=default, help=f"--sweep shape (default {default})")
    args = p.parse_args(argv)
    if args.sweep == bool(args.model_dir):
        p.error("give MODEL_DIR or --sweep (one of them)")
    if args.warmup < 0:
        p.error("--warmup must be at least 0")
    return args


def time_model(torch, model, cfg, batch: int, runs: int, warmup: int) -> List[float]:
    x = torch.randn(batch, cfg.channels, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(1))
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def percentile(sorted_ms: List[float], q: float) -> float:
    """Linear interpolation between the nearest ranks, as pfrt-bench computes it."""
    pos = q * (len(sorted_ms) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (pos - lo)


def machine(torch) -> Dict[str, object]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu_model": model, "cores": os.cpu_count(), "torch_version": torch.__version__,
            "os": f"{platform.system()} {platform.release()} {platform.machine()}"}


def bench_model_dir(torch, args) -> int:
    import export
    from paraformer import flops_per_image

    try:
        model, _ = export.read_model(args.model_dir)
        cfg = model.cfg
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        print(f"bench_torch.py: {args.model_dir}: cannot load the model: {e}", file=sys.stderr)
        return 1
    ms = sorted(time_model(torch, model, cfg, args.batch, args.runs, args.warmup))
    p50 = percentile(ms, 0.5)
    gflops = flops_per_image(cfg) * args.batch / (p50 * 1e6)
    # "model" is an object, as in pfrt's reports (docs/json.md).
    result = {"tool": "bench_torch.py", "machine": machine(torch), "model": {"path": args.model_dir},
              "threads": args.threads,
              "batch": args.batch, "latency_ms": {"count": len(ms), "mean": statistics.fmean(ms),
                                                  "stdev": statistics.stdev(ms) if len(ms) > 1 else 0.0,
                                                  "min": ms[0], "p50": p50, "p90": percentile(ms, 0.9),
                                                  "p99": percentile(ms, 0.99), "max": ms[-1]},
              "throughput_images_per_s": 1e3 * args.batch / statistics.fmean(ms), "gflops": gflops}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        print(f"PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch}: {args.model_dir}")
        print(f"latency      mean {lat['mean']:.3f} ± {lat['stdev']:.3f} ms, min {lat['min']:.3f}, p50 {p50:.3f}, "
              f"p90 {lat['p90']:.3f}, p99 {lat['p99']:.3f}, max {lat['max']:.3f}  ({len(ms)} runs)")
        print(f"throughput   {result['throughput_images_per_s']:.1f} images/s")
        print(f"compute      {gflops:.2f} GFLOP/s at p50")
    return 0


def bench_sweep(torch, args) -> int:
    from paraformer import ParaFormer, ParaFormerConfig, flops_per_image

    rows = []
    for kind, depths in (("parallel", args.branches), ("serial", args.blocks)):
        base = None
        for depth in depths:
            try:
                cfg = ParaFormerConfig(image_size=args.image_size, channels=args.channels, patch_size=args.patch_size,
                                       dim=args.dim, heads=args.heads, dim_head=args.head_dim, mlp_dim=args.mlp_dim,
                                       branches=depth if kind == "parallel" else 1,
                                       blocks_per_branch=1 if kind == "parallel" else depth, num_classes=args.classes)
            except ValueError as e:
                print(f"bench_torch.py: sweep shape: {e}", file=sys.stderr)
                return 1
            torch.manual_seed(depth)
            ms = sorted(time_model(torch, ParaFormer(cfg), cfg, args.batch, args.runs, args.warmup))
            p50 = percentile(ms, 0.5)
            base = p50 if base is None else base
            flops = flops_per_image(cfg) * args.batch
            rows.append({"kind": kind, "depth": depth, "threads": args.threads, "p50_ms": p50,
                         "p99_ms": percentile(ms, 0.99), "ratio": p50 / base, "gflops": flops / (p50 * 1e6),
                         "flops": flops})
    if args.json:
        print(json.dumps({"tool": "bench_torch.py --sweep", "machine": machine(torch), "backend": "pytorch",
                          "batch": args.batch, "reference_gemm_gflops": None, "rows": rows}, indent=2))
        return 0
    print(f"bench_torch.py --sweep: PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch}")
    print(f"block shape {args.image_size}x{args.image_size}x{args.channels}, patch {args.patch_size}, D={args.dim}, "
          f"{args.heads} heads x {args.head_dim}, MLP {args.mlp_dim}, {args.classes} classes")
    print("\nkind      depth  threads    p50 ms    p99 ms   ratio  GFLOP/s")
    for r in rows:
        print(f"{r['kind']:<8}  {r['depth']:5d}  {r['threads']:7d}  {r['p50_ms']:8.3f}  {r['p99_ms']:8.3f}  "
              f"{r['ratio']:6.2f}  {r['gflops']:7.2f}")
    return 0


def main(argv: List[str]) -> int:
    args = arguments(argv)
    # Before torch is imported: OpenBLAS and OpenMP read these once, at load time.
    n = str(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = n
    os.environ["OMP_NUM_THREADS"] = n
    if args.threads > 1:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    return bench_sweep(torch, args) if args.sweep else bench_model_dir(torch, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
