"""Shared by the tests of the pfrt Python module: the module itself (PYTHONPATH, set by CTest,
points at the build's python/ folder) and the shipped Fashion-MNIST model."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION_MNIST = os.path.join(ROOT, "models", "fashion-mnist", "model.pfrt")


@pytest.fixture(scope="session")
def model():
    import pfrt
    return pfrt.Model(FASHION_MNIST)
