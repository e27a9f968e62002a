#!/usr/bin/python3
"""Runs the README's shell commands as written, for CTest.

  test_readme.py REPO BUILD_DIR WORK_DIR [--list]

Every ```sh block of REPO/README.md is cut into commands (a backslash continues a line). Each
command runs with bash in WORK_DIR, where `build/release` is a link to BUILD_DIR and `models`,
`reference` and `platforms` are links into REPO (`docs` a copy, since commands write there), so the commands run exactly as the README
prints them and what they write lands in WORK_DIR. Commands that install, build, package or
take minutes are not run: each is matched by one entry of SKIP (with the reason), so a new
command is run unless someone says why not. A command needing the Fashion-MNIST test set or
PyTorch is skipped with a message where that is missing. Exit 0 when every command run exits 0.
"""
import os
import re
import shutil
import subprocess
import sys

# (pattern found in the command, why it is not run here)
SKIP = [
    ("install-deps.sh", "installs packages (the CI image has them)"),
    ("cmake --preset", "configures a build (CTest runs inside one)"),
    ("cmake --workflow", "builds and tests a preset (CI runs these)"),
    ("cmake --build", "builds (CTest runs inside a build)"),
    ("cpack", "packages (tested by the install test)"),
    ("apt-get", "installs packages"),
    ("cc app.c", "an illustration: app.c is the reader's program"),
    ("cd build/fuzz", "a long fuzz run (the fuzz preset runs the short one)"),
    ("--sweep", "the depth sweep takes minutes (its JSON is tested with a tiny shape)"),
    ("python3 -c \"import pfrt; print(pfrt.__version__)\"", "needs the .deb installed"),
    ("mpirun", "needs MPI and several ranks (ctest -L mpi runs the tools under mpirun)"),
    ("deit-b8.pfrt", "needs the DeiT-Tiny B=8 file made with PyTorch and pfrt-convert"),
]
DATASET = "/usr/share/datasets/fashion-mnist"


def commands(readme):
    out, block, pending = [], None, ""
    for number, line in enumerate(open(readme, encoding="utf-8").read().split("\n"), 1):
        if line.strip().startswith("```"):
            block = line.strip()[3:] if block is None else None
            continue
        if block not in ("sh", "bash"):
            continue
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1] + " "
            continue
        pending = ""
        text = re.sub(r"\s+#.*$", "", text) if not text.startswith("#") else ""
        if text:
            out.append((number, text))
    return out


def main(argv):
    repo, build, work = (os.path.abspath(a) for a in argv[1:4])
    listing = "--list" in argv
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "build"))
    os.symlink(build, os.path.join(work, "build", "release"))
    for name in ("models", "reference", "platforms"):
        os.symlink(os.path.join(repo, name), os.path.join(work, name))
    shutil.copytree(os.path.join(repo, "docs"), os.path.join(work, "docs"))  # commands write into docs/
    have_torch = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0
    ran = failed = 0
    for number, cmd in commands(os.path.join(repo, "README.md")):
        why = next((reason for pattern, reason in SKIP if pattern in cmd), None)
        if why is None and ("fashion-mnist/t10k" in cmd or "$D/" in cmd) and not os.path.isdir(DATASET):
            why = f"{DATASET} missing"
        if why is None and ("reference/" in cmd) and not have_torch:
            why = "no PyTorch in /usr/bin/python3"
        if why:
            print(f"README:{number}: skipped ({why}): {cmd}")
            continue
        if listing:
            print(f"README:{number}: would run: {cmd}")
            continue
        # D=... on a line of its own sets a variable for the lines after it.
        env_lines = [c for n, c in commands(os.path.join(repo, "README.md")) if n < number and re.match(r"^\w+=\S+$", c)]
        env = dict(os.environ, PATH="/usr/bin:/bin:" + os.environ.get("PATH", ""))  # Debian's python3
        p = subprocess.run(["bash", "-c", "set -e -o pipefail; " + "; ".join(env_lines + [cmd])], cwd=work,
                           capture_output=True, text=True, timeout=600, env=env)
        ran += 1
        status = "ok" if p.returncode == 0 else f"FAILED (exit {p.returncode})"
        print(f"README:{number}: {status}: {cmd}")
        if p.returncode != 0:
            failed += 1
            print(p.stdout[-2000:], p.stderr[-2000:], sep="\n")
    print(f"test_readme.py: {ran} commands run, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
