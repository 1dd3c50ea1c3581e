"""Test-wide setup: an isolated compiled-model cache for the whole session.

Every test run compiles into a fresh temporary cache (so compile counts are real and CI
proves the compile path), unless PYBRMS_TEST_CACHE_DIR points at a cache to reuse.

Session fixtures shared across tiers: ``docs_site`` (the documentation site, built once) and
``chromium`` (a headless browser, started once; ``tests/support/browser.py``).
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.browser import browser_available, launch_chromium

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


def _missing(what: str) -> None:
    """Skip a test whose tool is not installed; in CI (``CI`` set), fail it: there it must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run this test: scripts/setup.sh installs it)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory) -> Path:
    """The documentation site, built once per session as ``make docs`` builds it
    (``mkdocs build --strict``); the build must succeed without a warning."""
    if importlib.util.find_spec("mkdocs") is None:
        _missing("mkdocs is not installed (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium (a Playwright ``Browser``), started once per session: pass it to
    ``tests.support.browser.check_page``."""
    missing = browser_available()
    if missing:
        _missing(missing)
    with launch_chromium() as browser:
        yield browser
