"""The pfrt Python module's behaviour: models, sessions, runs, input checks, errors, cancel,
deadlines, the GIL and copies. Runs on the shipped Fashion-MNIST model (8 branches, 28x28x1,
10 classes)."""
import re
import threading
import time
import tracemalloc

import numpy as np
import pytest

import pfrt


def images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28), dtype=np.float32)


def test_version_and_backends():
    assert re.fullmatch(r"\d+\.\d+\.\d+", pfrt.__version__)
    assert pfrt.backends()[0] == "cpu"
    assert "reference" in pfrt.backends()


def test_model_info_labels_and_metadata(model):
    info = model.info
    assert (info.image_size, info.channels, info.patch_size, info.classes, info.branches) == (28, 1, 7, 10, 8)
    assert info.pooling == "cls" and info.training == "progressive"
    assert info.precision == "f32" and info.activations == "none"
    assert info.flops > info.branches * info.flops_per_branch > 0
    assert model.input_shape == (1, 28, 28)
    assert model.labels[:2] == ["T-shirt/top", "Trouser"] and len(model.labels) == 10
    assert model.metadata("producer") == "pfrt-convert"
    assert model.metadata("no such key") is None
    assert model.mean == pytest.approx([0.5]) and model.std == pytest.approx([0.2])


def test_normalize_is_pixel_over_255_minus_mean_over_std(model):
    pixels = np.random.default_rng(1).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    want = ((pixels.astype(np.float64) / 255 - 0.5) / 0.2).transpose(0, 3, 1, 2)
    got = model.normalize(pixels)
    assert got.dtype == np.float32 and got.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(model.normalize(pixels[0]), got[:1])        # (H, W, C)
    np.testing.assert_array_equal(model.normalize(pixels[0, :, :, 0]), got[:1])  # (H, W), grey
    np.testing.assert_array_equal(model.normalize(pixels[:, ::-1][:, ::-1]), got)  # any strides
    with pytest.raises(ValueError, match=r"normalize takes uint8 pixels of shape \(28, 28, 1\) .* got uint8 of shape \(32, 32, 1\)"):
        model.normalize(np.zeros((32, 32, 1), np.uint8))
    with pytest.raises(ValueError, match="got float32 of shape"):
        model.normalize(np.zeros((28, 28, 1), np.float32))


def test_run_gives_logits_batched_prefixes_and_a_result(model):
    session = pfrt.Session(model, threads=1)
    assert session.backend == "cpu" and session.threads == 1  # cpu is the default
    x = images(5)
    logits = session.run(x)
    assert logits.dtype == np.float32 and logits.shape == (5, 10)
    for i in range(5):
        np.testing.assert_array_equal(session.run(x[i:i + 1]), logits[i:i + 1])
    assert not np.array_equal(session.run(x, branches=1), logits)
    result = session.run_ex(x, branches=3)
    assert (result.branches_used, result.batch, result.deadline_reached) == (3, 5, False)
    assert result.elapsed_ms > 0
    np.testing.assert_array_equal(result.logits, session.run(x, branches=3))
    out = np.full((5, 10), np.nan, np.float32)
    assert session.run(x, out=out) is out
    np.testing.assert_array_equal(out, logits)
    profile = session.profile()
    assert set(profile) == {"stem_ms", "branches_ms", "head_ms", "longest_branch_ms", "branch_ms", "stages"}
    stages = profile["stages"]
    assert list(stages)[:3] == ["stem", "qkv", "attention"] and len(stages) == 10 and "quantize" in stages
    assert sum(s["flops"] for s in stages.values()) == 5 * model.info.flops  # the last run: 5 images, all branches
    assert all(s["ms"] >= 0 for s in stages.values()) and stages["stem"]["ms"] > 0


@pytest.mark.parametrize("x, message", [
    (np.zeros((1, 1, 28, 28)), r"x must be float32 \(native byte order\), got float64: convert it with x.astype"),
    (np.zeros((1, 1, 28, 28), ">f4"), r"x must be float32 \(native byte order\), got >f4"),
    (np.zeros((1, 3, 28, 28), np.float32), r"x has shape \(1, 3, 28, 28\); the model takes \(N, 1, 28, 28\)"),
    (np.zeros((1, 28, 28), np.float32), r"x has shape \(1, 28, 28\); the model takes"),
    (np.zeros((0, 1, 28, 28), np.float32), r"x has shape \(0, 1, 28, 28\).*N >= 1"),
    (np.zeros((1, 1, 56, 28), np.float32)[:, :, ::2], r"x must be C-contiguous and aligned .*numpy.ascontiguousarray"),
    (np.asfortranarray(np.zeros((2, 1, 28, 28), np.float32)), r"x must be C-contiguous"),
    ([[0.0]], r"x must be a numpy array of float32 \(N, C, H, W\), got list"),
])
def test_wrong_dtype_shape_or_layout_is_a_value_error(model, x, message):
    session = pfrt.Session(model, threads=1)
    with pytest.raises(ValueError, match=message):
        session.run(x)


def test_wrong_out_is_a_value_error(model):
    session = pfrt.Session(model, threads=1)
    with pytest.raises(ValueError, match=r"out has shape \(2, 10\); this run writes \(1, 10\)"):
        session.run(images(1), out=np.zeros((2, 10), np.float32))
    read_only = np.zeros((1, 10), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        session.run(images(1), out=read_only)


def test_pfrt_errors_are_exceptions_with_pfrt_message(model):
    with pytest.raises(pfrt.FileError, match="/nonexistent/a.pfrt: cannot open") as e:
        pfrt.Model("/nonexistent/a.pfrt")
    assert isinstance(e.value, OSError) and isinstance(e.value, pfrt.Error) and e.value.status == "i/o error"
    with pytest.raises(pfrt.InvalidModelError, match="truncated") as e:
        pfrt.Model.from_bytes(b"junk")
    assert e.value.status == "invalid model"
    with pytest.raises(pfrt.InvalidArgumentError, match="unknown backend 'tpu'; this build has: cpu") as e:
        pfrt.Session(model, backend="tpu")
    assert isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match="threads must be between 0"):
        pfrt.Session(model, threads=-1)
    with pytest.raises(ValueError, match="spin_us must be between 0"):
        pfrt.Session(model, spin_us=-5)
    with pytest.raises(pfrt.InvalidArgumentError, match="prefix of 9 branches requested; the model has 8"):
        pfrt.Session(model, threads=1).run(images(1), branches=9)
    with pytest.raises(ValueError, match="affinity: CPU 64 is not in 0..63"):
        pfrt.Session(model, affinity=[64])
    assert pfrt.Session(model, threads=1, affinity=[0], spin_us=0).threads == 1


def test_deadlines(model):
    session = pfrt.Session(model, backend="reference", threads=1)
    x = images(200)
    with pytest.raises(pfrt.DeadlineExceededError, match="deadline passed") as e:
        session.run(x, deadline_ms=0.001)
    assert e.value.status == "deadline exceeded"
    result = session.run_ex(x[:1], deadline_ms=10_000, best_prefix=True)
    assert (result.branches_used, result.deadline_reached) == (8, False)
    with pytest.raises(ValueError, match="deadline_ms must be >= 0"):
        session.run(x, deadline_ms=-1)
    with pytest.raises(ValueError, match="deadline_ms is NaN"):
        session.run(x, deadline_ms=float("nan"))


def long_run_session(model):
    """A reference session and a batch it takes a few hundred milliseconds over."""
    return pfrt.Session(model, backend="reference", threads=1), images(300, seed=2)


def test_cancel_from_another_thread(model):
    session, x = long_run_session(model)
    expected = session.run(x[:4])
    done = threading.Event()

    def canceller():
        while not done.is_set():
            session.cancel()
            time.sleep(0.002)

    thread = threading.Thread(target=canceller)
    thread.start()
    try:
        with pytest.raises(pfrt.CancelledError, match="run cancelled") as e:
            session.run(x)
    finally:
        done.set()
        thread.join()
    assert e.value.status == "cancelled"
    np.testing.assert_array_equal(session.run(x[:4]), expected)  # the session is still good


def test_the_gil_is_released_while_running(model):
    """While one thread runs a long batch, another Python thread keeps running: the longest gap
    between its iterations is far shorter than the run."""
    session, x = long_run_session(model)
    started, finished = threading.Event(), threading.Event()
    run_ms = []

    def runner():
        started.set()
        t = time.perf_counter()
        session.run(x)
        run_ms.append(1e3 * (time.perf_counter() - t))
        finished.set()

    thread = threading.Thread(target=runner)
    thread.start()
    started.wait()
    last, longest_gap_ms = time.perf_counter(), 0.0
    while not finished.is_set():
        now = time.perf_counter()
        longest_gap_ms = max(longest_gap_ms, 1e3 * (now - last))
        last = now
    thread.join()
    assert run_ms[0] > 100, "the run was too short to tell"
    assert longest_gap_ms < run_ms[0] / 3, f"a {run_ms[0]:.0f} ms run held the GIL for {longest_gap_ms:.0f} ms"


def test_a_session_runs_one_batch_at_a_time(model):
    session, x = long_run_session(model)
    started = threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), session.run(x)))
    thread.start()
    started.wait()
    time.sleep(0.05)
    try:
        with pytest.raises(ValueError, match="this session is running on another thread"):
            session.run(x[:1])
    finally:
        thread.join()


def test_the_input_is_not_copied(model):
    """pfrt reads a C-contiguous float32 input in place: over a run on 31 MB of input, with its
    output given, traced memory grows by nothing like the input's size, while a copy of the
    input (numpy's allocations are traced) shows in full."""
    session = pfrt.Session(model, threads=1)
    x = images(10_000)
    out = np.empty((10_000, 10), np.float32)
    session.run(x[:1])  # first-run buffers

    def traced_peak(work):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            work()
            return tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()

    assert traced_peak(lambda: np.ascontiguousarray(x[:, :, :, ::-1])) >= x.nbytes  # the yardstick works
    run_peak = traced_peak(lambda: session.run(x, out=out))
    assert run_peak < x.nbytes / 100, f"a run on {x.nbytes} bytes of input allocated {run_peak} traced bytes"


def test_non_finite_input_is_refused_naming_the_element(model):
    session = pfrt.Session(model, threads=1, backend="reference")
    x = images(2)
    x[1, 0, 3, 4] = np.inf
    with pytest.raises(pfrt.InvalidArgumentError, match=r"input element 872 \(image 1, channel 0, row 3, column 4\) "
                                                        r"is \+Inf: pfrt refuses non-finite input"):
        session.run(x)
