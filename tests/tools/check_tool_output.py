#!/usr/bin/python3
"""Runs a pfrt tool and checks its result, for CTest.

  check_tool_output.py json KIND -- COMMAND...   exit 0 and stdout is JSON with KIND's documented keys
  check_tool_output.py fails RC REGEX [FILE...] -- COMMAND...   exit code RC and REGEX found in stderr, no FILE left
  check_tool_output.py usage PROGRAM REGEX -- COMMAND...   a usage error as every tool gives it: exit 2, stderr
      exactly "PROGRAM: <problem matching REGEX>" and "(run 'PROGRAM --help' for the options)"
  check_tool_output.py version PROGRAM -- COMMAND...   exit 0, one line "PROGRAM <version> ..." on stdout
  check_tool_output.py load KIND N -- COMMAND...   as json KIND, and COMMAND (pfrt-bench --background-load N)
      ran N busy-loop children at once, recorded N, and left none behind, alive or unreaped
  check_tool_output.py signal NAME N -- COMMAND...   NAME (INT, TERM, KILL) sent once COMMAND's N busy-loop
      children run: COMMAND dies by that signal and none of them lives on
"""
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

MACHINE = {"cpu_model", "cores", "cpu_isa", "os"}
LATENCY = {"count", "mean", "stdev", "min", "p50", "p90", "p99", "max"}


def need(obj, keys, where):
    missing = set(keys) - set(obj)
    if missing:
        raise AssertionError(f"{where}: missing keys {sorted(missing)}")


def check_common(d):
    need(d, {"tool", "version", "commit", "pfrt_version", "git_commit", "machine"}, "top level")
    need(d["machine"], MACHINE, "machine")
    assert d["machine"]["cores"] >= 1


def check_bench(d):
    check_common(d)
    need(d, {"model", "session", "options", "load_ms", "streams", "session_create_ms", "first_run_ms", "latency_ms",
             "throughput_images_per_s", "gflops", "reference_gemm", "profile", "peak_rss_bytes", "shards"}, "bench")
    if d["shards"] is not None:  # mpirun -n R: rank 0's exchanges
        sh = d["shards"]
        need(sh, {"ranks", "branches_owned_by_rank_0", "agree_ms", "sum_ms", "reduction_ms", "reduction_fraction"},
             "shards")
        assert sh["ranks"] >= 2 and 0 <= sh["reduction_fraction"] <= 1, sh
    need(d["latency_ms"], LATENCY, "latency_ms")
    lat = d["latency_ms"]
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
    assert lat["count"] >= d["options"]["runs"]
    need(d["options"], {"warmup", "runs", "min_seconds", "batch", "background_load"}, "options")
    need(d["model"], {"path", "file_size", "branches", "flops", "parameters", "training"}, "model")
    assert d["options"]["prefix"] > 0 or d["gflops"] > 0
    need(d["session"], {"backend", "threads", "describe"}, "session")
    need(d["profile"], {"stem_ms", "branches_ms", "head_ms", "longest_branch_ms", "critical_path_ms", "branch_ms"}, "profile")
    assert len(d["profile"]["branch_ms"]) == d["model"]["branches"]
    assert d["peak_rss_bytes"] > 0 and d["model"]["file_size"] > 0
    if d["reference_gemm"] is not None:
        need(d["reference_gemm"], {"layer", "m", "k", "n", "gflops", "model_fraction"}, "reference_gemm")


def check_streams(d, command):
    """--streams N: the model report, whose single-session figures are stream 0's, and N streams."""
    check_bench(d)
    s = d["streams"]
    assert s is not None, "no streams object"
    need(s, {"count", "threads_per_stream", "aggregate_images_per_s", "wall_s", "per_stream"}, "streams")
    assert s["count"] == len(s["per_stream"]) == int(command[command.index("--streams") + 1]), s
    assert s["threads_per_stream"] == d["session"]["threads"]
    assert s["aggregate_images_per_s"] > 0 and s["wall_s"] > 0, s
    for st in s["per_stream"]:
        need(st, {"p50_ms", "p99_ms", "mean_ms", "images_per_s", "runs"}, "per_stream")
        assert 0 < st["p50_ms"] <= st["p99_ms"] and st["mean_ms"] > 0 and st["images_per_s"] > 0, st
        assert st["runs"] >= d["options"]["runs"], st
    # Each stream's window lies within the wall time: the aggregate is at most their sum.
    assert s["aggregate_images_per_s"] <= 1.000001 * sum(st["images_per_s"] for st in s["per_stream"]), s
    assert s["per_stream"][0]["p50_ms"] == d["latency_ms"]["p50"]
    assert d["reference_gemm"] is None, "not measured with --streams"


def check_sweep(d):
    check_common(d)
    need(d, {"reference_gemm_gflops", "rows", "shape", "backend"}, "sweep")
    assert d["rows"], "no rows"
    for row in d["rows"]:
        need(row, {"kind", "depth", "threads", "p50_ms", "gflops", "ratio", "reference_gemm_gflops", "rate"}, "row")
        assert row["kind"] in ("parallel", "serial"), row
        assert row["p50_ms"] > 0 and row["gflops"] > 0
        if d["reference_gemm_gflops"] is None:
            assert row["reference_gemm_gflops"] is None and row["rate"] is None, row
        else:  # timed beside this row: its share of that rate
            assert row["reference_gemm_gflops"] > 0, row
            assert abs(row["rate"] - row["gflops"] / row["reference_gemm_gflops"]) <= 1e-6 * row["rate"], row
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
    check_common(d)
    need(d, {"results", "backend", "threads", "failures", "warmup_runs"}, "run")
    assert d["failures"] == 0
    assert d["warmup_runs"] == 0, "only --deadline-ms warms the session up"
    for r in d["results"]:
        need(r, {"image", "top", "branches_used", "elapsed_ms"}, "result")
        assert r["top"] and sum(t["probability"] for t in r["top"]) <= 1.0001
        assert all(a["probability"] >= b["probability"] for a, b in zip(r["top"], r["top"][1:]))


def check_eval(d):
    check_common(d)
    need(d, {"accuracy", "correct", "total", "images_per_s", "confusion", "class_labels", "warmup_runs", "describe"},
         "eval")
    assert d["describe"].startswith(d["backend"] + ":"), "describe is the session's description"
    assert d["warmup_runs"] == (1 if "deadline_ms" in d else 0), "--deadline-ms warms the session up once"
    unanswered = 0
    if "deadline_ms" in d:  # [k]: images answered by k branches, [0]: left unanswered
        used = d["branches_used"]
        assert len(used) == d["branches"] + 1 and sum(used) == d["total"], used
        unanswered = used[0]
    assert sum(map(sum, d["confusion"])) == d["total"] - unanswered
    assert sum(d["confusion"][i][i] for i in range(len(d["confusion"]))) == d["correct"]
    assert abs(d["accuracy"] - d["correct"] / d["total"]) < 1e-9


def check_run_deadline(d):
    """pfrt-run --deadline-ms 1000: one untimed warm-up run first, then every image answered by
    every branch (a deadline of a second never cuts the shipped-size test model)."""
    check_common(d)
    need(d, {"results", "warmup_runs", "failures"}, "run")
    assert d["failures"] == 0 and d["warmup_runs"] == 1, d["warmup_runs"]
    for r in d["results"]:
        assert r["deadline_reached"] is False and r["branches_used"] >= 1, r


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
          "eval_deadline": check_eval_deadline, "run_deadline": check_run_deadline}


JSON_DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "json.md")


def documented_fields(tool):
    """docs/json.md's fields of report `tool`: the common header, the model object where the
    report has one, and the report's own table, as {path: type}."""
    sections, name = {}, None
    for line in open(JSON_DOC, encoding="utf-8"):
        if line.startswith("## "):
            name = line[3:].strip().strip("`")
            sections[name] = {}
        m = re.match(r"^\| `([^`]+)` \| ([^|]+) \|", line)
        if m and name is not None:
            sections[name][m.group(1)] = m.group(2).strip()
    assert tool in sections, f"docs/json.md has no section for {tool!r}"
    fields = dict(sections["The common header"])
    fields.update(sections[tool])
    if tool != "pfrt-bench --sweep":
        fields.update(sections["The model object"])
    return fields


def type_ok(value, spec):
    spec = spec.replace(", optional", "")
    if " or null" in spec:
        return value is None or type_ok(value, spec.replace(" or null", ""))
    if spec.startswith("array of "):
        return isinstance(value, list) and all(type_ok(v, spec[len("array of "):]) for v in value)
    if spec.startswith("map of "):
        return isinstance(value, dict) and all(type_ok(v, spec[len("map of "):]) for v in value.values())
    simple = {"string": str, "boolean": bool, "object": dict}
    if spec in simple:
        return isinstance(value, simple[spec])
    if spec == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise AssertionError(f"docs/json.md: unknown type {spec!r}")


def present(d, fields, prefix=""):
    """Every field path of d and its values (objects descended, arrays of objects as a[].b, a
    documented map not)."""
    out = {}
    for k, v in d.items():
        path = prefix + k
        out.setdefault(path, []).append(v)
        if isinstance(v, dict) and not fields.get(path, "").startswith("map of"):
            for p, vs in present(v, fields, path + ".").items():
                out.setdefault(p, []).extend(vs)
        elif isinstance(v, list):
            for e in v:
                if isinstance(e, dict):
                    for p, vs in present(e, fields, path + "[].").items():
                        out.setdefault(p, []).extend(vs)
    return out


def check_documented(d):
    """The report against docs/json.md, both ways."""
    fields = documented_fields(d["tool"])
    found = present(d, fields)
    for path in found:
        assert path in fields, f"{d['tool']}: field {path!r} is not in docs/json.md"
        for v in found[path]:
            assert type_ok(v, fields[path]), f"{d['tool']}: {path} = {v!r} is not {fields[path]} (docs/json.md)"
    for path, spec in fields.items():
        # Required unless optional, or inside an array or an object that is null/empty here.
        parent = path.rsplit(".", 1)[0] if "." in path else None
        if "optional" in spec or "[]" in path or (parent and parent not in found):
            continue
        if parent and all(v is None for v in found[parent]):
            continue
        assert path in found, f"{d['tool']}: documented field {path!r} is missing"


def check_json(kind, stdout, command):
    d = json.loads(stdout)
    if kind != "torch_sweep":
        check_documented(d)
    if kind == "streams":
        check_streams(d, command)
    else:
        CHECKS[kind](d)
    print(f"{kind}: JSON has the documented keys")


def processes_under(parent):
    """{pid: state letter} of the processes whose parent is `parent`."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found[int(entry)] = fields[0]
    return found


def run_with_load(count, signame, command):
    """Runs pfrt-bench with --background-load `count`, watching its children; returns its exit
    code, stdout and stderr, or raises AssertionError when its children misbehaved."""
    # Orphans of pfrt-bench (children it left behind) become ours, to be seen and reaped.
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        # As from a terminal's Ctrl-C: SIGINT is not ignored, even when the test runs in the background.
        p = subprocess.Popen(command, stdout=out, stderr=err, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        most, sent = 0, False  # the most busy-loop processes seen at once
        try:
            deadline = time.monotonic() + 120
            while p.poll() is None and time.monotonic() < deadline:
                most = max(most, sum(state != "Z" for state in processes_under(p.pid).values()))
                if signame and most >= count and not sent:
                    p.send_signal(getattr(signal, "SIG" + signame))
                    sent = True
                time.sleep(0.002)
            if p.poll() is None:
                p.kill()
                raise AssertionError("pfrt-bench did not end within 120 s")
            p.wait()
            # The children's death is asynchronous after a signal: give them a moment.
            left = processes_under(os.getpid())
            for _ in range(500):
                if all(state == "Z" for state in left.values()):
                    break
                time.sleep(0.01)
                left = processes_under(os.getpid())
            alive = {pid: state for pid, state in left.items() if state != "Z"}
            assert not alive, f"busy-loop processes outlived pfrt-bench: {alive}"
            assert signame or not left, f"pfrt-bench left unreaped children: {left}"
            assert most == count, f"saw {most} busy-loop processes at once, expected {count}"
        finally:
            for pid in processes_under(os.getpid()):
                if pid != p.pid:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read()


def main(argv):
    sep = argv.index("--")
    spec, command = argv[1:sep], argv[sep + 1:]
    if spec[0] == "load":
        rc, stdout, stderr = run_with_load(int(spec[2]), None, command)
        if rc != 0:
            print(stdout, stderr, f"exit code {rc}", sep="\n")
            return 1
        check_json(spec[1], stdout, command)
        d = json.loads(stdout)
        assert d.get("options", d)["background_load"] == int(spec[2])  # the sweeps have no "options"
        print(f"{spec[2]} busy-loop process(es) ran beside it, none is left")
        return 0
    if spec[0] == "signal":
        rc, stdout, stderr = run_with_load(int(spec[2]), spec[1], command)
        if rc != -getattr(signal, "SIG" + spec[1]):
            print(stdout, stderr, f"exit code {rc}, expected death by SIG{spec[1]}", sep="\n")
            return 1
        print(f"SIG{spec[1]}: pfrt-bench died by it, its {spec[2]} busy-loop process(es) with it")
        return 0
    p = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if spec[0] == "json":
        if p.returncode != 0 and "No module named 'torch'" in p.stderr:
            print("PyTorch is not installed: skipped")
            return 77
        if p.returncode != 0:
            print(p.stdout, p.stderr, f"exit code {p.returncode}", sep="\n")
            return 1
        check_json(spec[1], p.stdout, command)
        return 0
    if spec[0] == "usage":
        program, pattern = spec[1], spec[2]
        lines = p.stderr.rstrip("\n").split("\n")
        ok = (p.returncode == 2 and len(lines) == 2 and lines[0].startswith(program + ": ") and
              re.search(pattern, lines[0]) and re.fullmatch(rf"\(run '{re.escape(program)}( \w+)? --help' for the "
                                                           r"options\)", lines[1]))
        if not ok:
            print(f"expected exit 2 and a usage error /{pattern}/ in two lines; got exit {p.returncode}:\n{p.stderr}")
            return 1
        print(f"exit 2: {p.stderr.strip()}")
        return 0
    if spec[0] == "version":
        version = re.search(r"#define PFRT_VERSION_MAJOR (\d+)\n#define PFRT_VERSION_MINOR (\d+)\n"
                            r"#define PFRT_VERSION_PATCH (\d+)",
                            open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime",
                                              "include", "pfrt", "pfrt.h")).read())
        want = f"{spec[1]} " + ".".join(version.groups())
        if p.returncode != 0 or not p.stdout.startswith(want) or p.stdout.count("\n") != 1:
            print(f"expected exit 0 and one line starting {want!r}; got exit {p.returncode}:\n{p.stdout}{p.stderr}")
            return 1
        print(p.stdout.strip())
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
