"""pfrt against PyTorch, in one process: for each parity shape (tests/make_fixtures.py) a
random-weight model is built in PyTorch (reference/paraformer.py), converted with pfrt-convert
(PFRT_CONVERT), loaded with pfrt.Model, and both run on the same numpy input. Every backend that
can run here, the full model and every prefix: max |pfrt - torch| <= 1e-4 * max(1, max |logit|)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pfrt

torch = pytest.importorskip("torch", reason="PyTorch is not installed (apt-get install python3-torch)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "reference"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import export  # noqa: E402
from make_fixtures import SHAPES  # noqa: E402

TOLERANCE = 1e-4


def backends():
    usable = []
    for name in pfrt.backends():
        try:
            pfrt.Session(pfrt.Model(os.path.join(ROOT, "tests", "data", "v1", "tiny.pfrt")), backend=name, threads=1)
            usable.append(name)
        except pfrt.BackendError:
            pass  # e.g. cuda without a GPU
    return usable


@pytest.mark.parametrize("seed, shape", list(enumerate(SHAPES)))
def test_pfrt_equals_pytorch(tmp_path, seed, shape):
    convert = os.environ.get("PFRT_CONVERT")
    if not convert:
        pytest.skip("PFRT_CONVERT (the pfrt-convert program) is not set")
    out = str(tmp_path / shape)
    assert export.main(["random", "--out", out, "--seed", str(seed)] + SHAPES[shape].split()) == 0
    subprocess.run([convert, "--config", os.path.join(out, "config.json"), "--weights",
                    os.path.join(out, "model.safetensors"), "-o", os.path.join(out, "model.pfrt")],
                   check=True, stdout=subprocess.DEVNULL)
    net, _ = export.read_model(out)
    model = pfrt.Model(os.path.join(out, "model.pfrt"))
    cfg = net.cfg
    count = 2 if shape.startswith("deit") else 3
    x = torch.randn(count, cfg.channels, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(seed))
    x_np = x.numpy()
    assert x_np.dtype == np.float32 and x_np.flags.c_contiguous
    with torch.no_grad():
        want = {k: net(x, k).numpy() for k in range(1, cfg.branches + 1)}
    for backend in backends():
        session = pfrt.Session(model, backend=backend, threads=2)
        for k, w in want.items():
            got = session.run(x_np) if k == cfg.branches else session.run(x_np, branches=k)
            bound = TOLERANCE * max(1.0, float(np.abs(w).max()))
            err = float(np.abs(got - w).max())
            assert err <= bound, f"{shape}, {backend}, branches 1..{k}: max |pfrt - torch| = {err:.3g} > {bound:.3g}"
