#!/usr/bin/python3
"""pfrt-run --eval --predictions FILE, for CTest.

  check_predictions.py FILE -- PFRT_RUN MODEL --eval IMAGES LABELS [options]

Runs the command with --predictions FILE --json and checks FILE: one line per evaluated image,
"index class margin", indices 0, 1, ... in order, classes of the model, margins >= 0, and the
predicted classes counted per class equal the columns of the JSON confusion matrix.
"""
import json
import os
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd = argv[0], argv[2:] + ["--predictions", argv[0], "--json"]
    if os.path.exists(path):
        os.unlink(path)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"FAIL: {' '.join(cmd)} exited with {r.returncode}:\n{r.stderr}")
        return 1
    report = json.loads(r.stdout)
    classes = len(report["class_labels"])
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) == report["total"], f"{len(lines)} lines for {report['total']} images"
    counts = [0] * classes
    for i, line in enumerate(lines):
        index, predicted, margin = line.split(" ")
        assert int(index) == i, f"line {i + 1}: index {index}"
        assert 0 <= int(predicted) < classes, f"line {i + 1}: class {predicted}"
        assert float(margin) >= 0, f"line {i + 1}: margin {margin}"
        counts[int(predicted)] += 1
    columns = [sum(row[p] for row in report["confusion"]) for p in range(classes)]
    assert counts == columns, f"predictions per class {counts}, confusion matrix columns {columns}"
    print(f"{path}: {len(lines)} predictions agree with the confusion matrix")
    return 0


if __name__ == "__main__":
    sys.exit(main())
