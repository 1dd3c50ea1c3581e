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

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return Path(_CACHE)
