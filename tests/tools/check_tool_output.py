#!/usr/bin/python3
"""Runs a pfrt tool and checks its result, for CTest.

  check_tool_output.py json KIND -- COMMAND...   exit 0 and stdout is JSON with KIND's documented keys
  check_tool_output.py fails RC REGEX [FILE...] -- COMMAND...   exit code RC and REGEX found in stderr, no FILE left
"""
import json
import os
import re
import subprocess
import sys

MACHINE = {"cpu_model", "cores", "cpu_isa", "os"}
LATENCY = {"count", "mean", "stdev", "min", "p50", "p90", "p99", "max"}


def need(obj, keys, where):
    missing = set(keys) - set(obj)
    if missing:
        raise AssertionError(f"{where}: missing keys {sorted(missing)}")


def check_common(d):
    need(d, {"tool", "pfrt_version", "git_commit", "machine"}, "top level")
    need(d["machine"], MACHINE, "machine")
    assert d["machine"]["cores"] >= 1


def check_bench(d):
    check_common(d)
    need(d, {"model", "session", "options", "load_ms", "session_create_ms", "first_run_ms", "latency_ms",
             "throughput_images_per_s", "gflops", "reference_gemm", "profile", "peak_rss_bytes"}, "bench")
    need(d["latency_ms"], LATENCY, "latency_ms")
    lat = d["latency_ms"]
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
    assert lat["count"] >= d["options"]["runs"]
    need(d["model"], {"path", "file_size", "branches", "flops", "parameters", "training"}, "model")
    need(d["session"], {"backend", "threads", "describe"}, "session")
    need(d["profile"], {"stem_ms", "branches_ms", "head_ms", "longest_branch_ms", "critical_path_ms", "branch_ms"}, "profile")
    assert len(d["profile"]["branch_ms"]) == d["model"]["branches"]
    assert d["peak_rss_bytes"] > 0 and d["model"]["file_size"] > 0
    if d["reference_gemm"] is not None:
        need(d["reference_gemm"], {"layer", "m", "k", "n", "gflops", "model_fraction"}, "reference_gemm")
    assert d["gflops"] > 0


def check_sweep(d):
    check_common(d)
    need(d, {"reference_gemm_gflops", "rows", "shape", "backend"}, "sweep")
    assert d["rows"], "no rows"
    for row in d["rows"]:
        need(row, {"kind", "depth", "threads", "p50_ms", "gflops", "ratio"}, "row")
        assert row["kind"] in ("parallel", "serial"), row
        assert row["p50_ms"] > 0 and row["gflops"] > 0
    kinds = {row["kind"] for row in d["rows"]}
    assert kinds == {"parallel", "serial"}, kinds
    assert d["rows"][0]["ratio"] == 1


def check_prefix(d):
    check_common(d)
    need(d, {"rows", "branches", "training", "eval"}, "prefix")
    assert [r["branches"] for r in d["rows"]] == list(range(1, d["branches"] + 1))
    for r in d["rows"]:
        need(r, {"p50_ms", "p99_ms", "accuracy"}, "prefix row")
        if d["eval"] is not None:
            assert 0 <= r["accuracy"] <= 1


def check_run(d):
    need(d, {"results", "backend", "threads", "failures"}, "run")
    assert d["failures"] == 0
    for r in d["results"]:
        need(r, {"image", "top", "branches_used", "elapsed_ms"}, "result")
        assert r["top"] and sum(t["probability"] for t in r["top"]) <= 1.0001
        assert all(a["probability"] >= b["probability"] for a, b in zip(r["top"], r["top"][1:]))


def check_eval(d):
    need(d, {"accuracy", "correct", "total", "images_per_s", "confusion", "class_labels"}, "eval")
    unanswered = 0
    if "deadline_ms" in d:  # [k]: images answered by k branches, [0]: left unanswered
        used = d["branches_used"]
        assert len(used) == d["branches"] + 1 and sum(used) == d["total"], used
        unanswered = used[0]
    assert sum(map(sum, d["confusion"])) == d["total"] - unanswered
    assert sum(d["confusion"][i][i] for i in range(len(d["confusion"]))) == d["correct"]
    assert abs(d["accuracy"] - d["correct"] / d["total"]) < 1e-9


def check_eval_deadline(d):
    check_eval(d)
    assert d["deadline_ms"] == 1000 and d["batch"] == 1
    assert d["branches_used"][-1] == d["total"], "a 1 s deadline lets every branch finish"


def check_torch_sweep(d):
    need(d, {"reference_gemm_gflops", "rows", "machine"}, "bench_torch.py --sweep")
    for row in d["rows"]:
        need(row, {"kind", "depth", "threads", "p50_ms", "gflops", "ratio"}, "row")
        assert row["kind"] in ("parallel", "serial") and row["p50_ms"] > 0, row


CHECKS = {"torch_sweep": check_torch_sweep, "bench": check_bench, "sweep": check_sweep, "prefix": check_prefix, "run": check_run, "eval": check_eval,
          "eval_deadline": check_eval_deadline}


def main(argv):
    sep = argv.index("--")
    spec, command = argv[1:sep], argv[sep + 1:]
    p = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if spec[0] == "json":
        if p.returncode != 0 and "No module named 'torch'" in p.stderr:
            print("PyTorch is not installed: skipped")
            return 77
        if p.returncode != 0:
            print(p.stdout, p.stderr, f"exit code {p.returncode}", sep="\n")
            return 1
        CHECKS[spec[1]](json.loads(p.stdout))
        print(f"{spec[1]}: JSON has the documented keys")
        return 0
    rc, pattern = int(spec[1]), spec[2]
    if p.returncode != rc or not re.search(pattern, p.stderr):
        print(f"expected exit {rc} and /{pattern}/ on stderr; got exit {p.returncode}, stderr:\n{p.stderr}")
        return 1
    for path in spec[3:]:  # files a failed run must not leave behind
        if os.path.exists(path):
            print(f"the failed run left {path}")
            return 1
    print(f"exit {rc}: {p.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
