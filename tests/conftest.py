"""Test-wide setup: an isolated compiled-model cache for the whole session.

Every test run compiles into a fresh temporary cache (so compile counts are real and CI
proves the compile path), unless PYBRMS_TEST_CACHE_DIR points at a cache to reuse.
"""

import os
import tempfile
from pathlib import Path

import pytest

_CACHE = os.environ.get("PYBRMS_TEST_CACHE_DIR") or tempfile.mkdtemp(prefix="pybrms-test-cache-")
os.environ["PYBRMS_CACHE_DIR"] = _CACHE
# The environment before any test starts embedded R: R's start-up adds LD_LIBRARY_PATH (with
# /usr/lib/x86_64-linux-gnu, where Debian's own libpython3.11 lives) to the process environment,
# and pybrms.bridge must put it back (tests/r/test_bridge.py compares against this copy).
_CLEAN_ENV = dict(os.environ)

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture(scope="session")
def clean_env() -> dict[str, str]:
    """The process environment as it was before R started (for subprocesses)."""
    return dict(_CLEAN_ENV)


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return Path(_CACHE)
