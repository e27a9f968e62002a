#!/usr/bin/python3
"""Runs pytest on the given test files for CTest: exits 77 (CTest: skipped) when pytest or
numpy is missing, and fails when pytest collected no test at all.

  run_pytest.py TEST_FILE... [-- PYTEST_ARGS...]
"""
import sys

try:
    import numpy  # noqa: F401
    import pytest
except ImportError as e:
    print(f"run_pytest.py: skipped: {e.name} is not installed (apt-get install python3-pytest python3-numpy)")
    sys.exit(77)

NO_TESTS_COLLECTED = 5

if __name__ == "__main__":
    rc = pytest.main(["-q", "-p", "no:cacheprovider", "-rs"] + sys.argv[1:])
    if rc == NO_TESTS_COLLECTED:
        print("run_pytest.py: pytest collected no test")
        sys.exit(1)
    sys.exit(int(rc))
