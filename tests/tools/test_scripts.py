#!/usr/bin/python3
"""reference/export.py and reference/train.py as a user runs them, for CTest.

  test_scripts.py PFRT_CONVERT WORK_DIR

Every failure is one line "export.py: error: ..." / "train.py: error: ..." (or argparse's usage
error, exit 2), never a traceback, and leaves no file behind; a checkpoint of train.py converts
with the README's command (its config.json beside it supplies the head size). Exit 77 (skipped)
without PyTorch.
"""
import os
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "reference")
EXPORT = os.path.join(REFERENCE, "export.py")
TRAIN = os.path.join(REFERENCE, "train.py")
DATA = "/usr/share/datasets/fashion-mnist"


def run(cmd, rc, pattern=None):
    p = subprocess.run(cmd, capture_output=True, text=True)
    shown = " ".join(cmd)
    assert "Traceback" not in p.stderr, f"{shown}: traceback\n{p.stderr}"
    assert p.returncode == rc, f"{shown}: exit {p.returncode}, expected {rc}\n{p.stderr}"
    if pattern is not None:
        assert pattern in p.stderr, f"{shown}: {pattern!r} not in stderr\n{p.stderr}"
    return p


def main(argv):
    try:
        import torch  # noqa: F401
    except ImportError:
        print("test_scripts.py: skipped: no PyTorch")
        return 77
    convert, work = argv[1], argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    py = sys.executable

    # export.py: bad arguments and bad paths.
    run([py, EXPORT, "random", "--out", f"{work}/r", "--inputs", "-1"], 2, "--inputs must not be negative")
    run([py, EXPORT, "random", "--out", f"{work}/r", "--dim", "0"], 2, "--dim must be positive")
    assert not os.path.exists(f"{work}/r")
    run([py, EXPORT, "checkpoint", f"{work}/none.pth", "--out", f"{work}/c"], 1,
        f"export.py: error: {work}/none.pth: no such file")
    os.mkfifo(f"{work}/fifo")
    run([py, EXPORT, "random", "--out", f"{work}/fifo"], 1, "export.py: error:")
    assert stat.S_ISFIFO(os.lstat(f"{work}/fifo").st_mode)
    os.makedirs(f"{work}/out")
    os.mkfifo(f"{work}/out/config.json")
    run([py, EXPORT, "random", "--out", f"{work}/out"], 1, "config.json is a FIFO")
    assert stat.S_ISFIFO(os.lstat(f"{work}/out/config.json").st_mode)
    # The new spelling and the deprecated one of the head size and class count.
    run([py, EXPORT, "random", "--out", f"{work}/spell", "--head-dim", "8", "--classes", "3"], 0)
    run([py, EXPORT, "random", "--out", f"{work}/spell-old", "--dim-head", "8", "--num-classes", "3"], 0)
    assert open(f"{work}/spell/config.json").read() == open(f"{work}/spell-old/config.json").read()

    # train.py: bad arguments; --resume without a state is an error, not a fresh start.
    run([py, TRAIN, "--out", f"{work}/t", "--limit", "-1"], 2, "--limit must not be negative")
    if not os.path.isdir(DATA):
        print(f"test_scripts.py: {DATA} missing: train.py's runs not tested")
        return 0
    run([py, TRAIN, "--out", f"{work}/t", "--resume", "--limit", "64", "--epochs", "1", "--threads", "1"], 1,
        "train_state.pth does not exist")
    assert not os.path.exists(f"{work}/t/checkpoint.pth")

    # A train.py checkpoint (head size 16, not the authors' 64) converts with the README's commands.
    run([py, TRAIN, "--out", f"{work}/t", "--branches", "2", "--limit", "64", "--epochs", "1", "--threads", "1",
         "--batch-size", "32"], 0)
    run([py, EXPORT, "checkpoint", f"{work}/t/checkpoint.pth", "--out", f"{work}/exported"], 0)
    import json
    config = json.load(open(f"{work}/exported/config.json"))
    assert (config["heads"], config["dim_head"], config["training"]) == (4, 16, "progressive"), config
    run([convert, "--config", f"{work}/exported/config.json", "--weights", f"{work}/exported/model.safetensors",
         "-o", f"{work}/model.pfrt"], 0)
    # Without the config beside it, the error names the flag that fixes it.
    os.makedirs(f"{work}/alone")
    shutil.copy(f"{work}/t/checkpoint.pth", f"{work}/alone/checkpoint.pth")
    run([py, EXPORT, "checkpoint", f"{work}/alone/checkpoint.pth", "--out", f"{work}/e2"], 1, "--head-dim")
    assert not os.path.exists(f"{work}/e2/model.safetensors")
    run([py, EXPORT, "checkpoint", f"{work}/alone/checkpoint.pth", "--out", f"{work}/e3", "--head-dim", "16"], 0)
    print("test_scripts.py: export.py and train.py errors and the train -> export -> convert path passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
