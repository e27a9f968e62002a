#!/usr/bin/python3
"""pfrt-bench --plot, for CTest.

  check_plot.py SVG -- PFRT_BENCH (--sweep | MODEL --prefix-sweep) [options]

Runs the command with --json --plot SVG, parses SVG as XML and checks it against the JSON
report: every row is a point (class "point", data-series, data-x, data-y) of the right series,
the axes are labelled, the caption names the machine, version and commit. Then draws the saved
report again with --plot-json and checks the picture is the same.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def close(a, b):
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))


def main(argv):
    svg_path = argv[1]
    cmd = argv[3:] + ["--json", "--plot", svg_path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}"
    report = json.loads(p.stdout)
    root = ET.parse(svg_path).getroot()
    assert root.tag == NS + "svg", root.tag
    points = [(c.get("data-series"), float(c.get("data-x")), float(c.get("data-y")))
              for c in root.iter(NS + "circle") if c.get("class") == "point"]
    texts = {t.get("class"): "".join(t.itertext()) for t in root.iter(NS + "text") if t.get("class")}
    assert texts.get("x-label") and texts.get("y-label"), f"axes not labelled: {texts}"
    caption = texts.get("caption", "")
    m = report["machine"]
    for part in (report["version"], report["commit"], m["cpu_model"], f"{m['cores']} cores"):
        assert part in caption, f"caption {caption!r} lacks {part!r}"

    wanted = []
    if report["tool"] == "pfrt-bench --sweep":
        for r in report["rows"]:
            kind = "parallel branches" if r["kind"] == "parallel" else "serial blocks"
            series = f"{kind}, {r['threads']} thread" + ("" if r["threads"] == 1 else "s")
            wanted.append((series, r["depth"], r["p50_ms"]))
    else:
        for r in report["rows"]:
            wanted += [("p50", r["branches"], r["p50_ms"]), ("p99", r["branches"], r["p99_ms"])]
            if r["accuracy"] is not None:
                wanted.append(("accuracy", r["branches"], 100 * r["accuracy"]))
    for series, x, y in wanted:
        assert any(s == series and close(px, x) and close(py, y) for s, px, py in points), \
            f"no point ({series}, {x}, {y}) in {svg_path}: {points}"
    assert len(points) == len(wanted), f"{len(points)} points for {len(wanted)} values"

    # The same picture from the saved report.
    with tempfile.TemporaryDirectory() as tmp:
        saved, again = os.path.join(tmp, "report.json"), os.path.join(tmp, "again.svg")
        open(saved, "w").write(p.stdout)
        # The command up to pfrt-bench itself (an emulator may come first in a cross build).
        tool = next(i for i, a in enumerate(cmd) if os.path.basename(a).startswith("pfrt-bench"))
        q = subprocess.run(cmd[:tool + 1] + ["--plot-json", saved, "--plot", again], capture_output=True, text=True)
        assert q.returncode == 0, q.stderr
        assert open(again).read() == open(svg_path).read(), "--plot-json drew another picture"
    print(f"{svg_path}: {len(points)} points, each a row of the report; --plot-json draws the same")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
