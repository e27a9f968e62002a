"""A thread pool of sessions from Python: each worker thread has a session of its own over one
shared model, and the pool's answers equal one session's, bit for bit."""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import pfrt


def test_a_thread_pool_of_sessions(model):
    batches = [np.random.default_rng(i).standard_normal((3, 1, 28, 28), dtype=np.float32) for i in range(48)]
    alone = pfrt.Session(model, threads=1)
    expected = [alone.run(x) for x in batches]

    local = threading.local()
    sessions = []
    lock = threading.Lock()

    def classify(x):
        if not hasattr(local, "session"):
            local.session = pfrt.Session(model, threads=1)
            with lock:
                sessions.append(local.session)
        return local.session.run(x)

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(classify, batches))
    assert 1 <= len(sessions) <= 4
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_sessions_made_and_dropped_in_the_pool_on_every_backend(model):
    x = np.random.default_rng(7).standard_normal((2, 1, 28, 28), dtype=np.float32)
    for backend in ("cpu", "reference"):
        expected = pfrt.Session(model, backend=backend, threads=1).run(x)

        def one(k):
            return pfrt.Session(model, backend=backend, threads=1).run(x, branches=8 - k % 2)

        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(one, range(12)))
        for k, r in enumerate(results):
            if k % 2 == 0:
                np.testing.assert_array_equal(r, expected)
