"""Every ``PYBRMS_*`` environment variable, read in one place and documented here.

=======================  ==========================================================================
``PYBRMS_CACHE_DIR``     Folder of compiled Stan programs (default ``$XDG_CACHE_HOME/pybrms/models``,
                         else ``~/.cache/pybrms/models``). Put it on a filesystem every Dask worker
                         shares so each program compiles once per cluster.
``PYBRMS_R_DIR``         Folder of the R sources the bridge loads instead of the package's own
                         ``r/`` (for developing them; ``pybrms doctor`` checks it holds every file).
=======================  ==========================================================================

Paper plugins declare their own variables (:attr:`pybrms.plugins.Plugin.settings`, e.g.
``PYBRMS_PRISM_URL``); :func:`config` reads them with the rest, and ``pybrms doctor`` lists
every variable that is set and warns about a ``PYBRMS_*`` name nothing reads (a typo). The test
suite reads three of its own (``PYBRMS_TEST_CACHE_DIR``, ``PYBRMS_GOLDEN_FITS``,
``PYBRMS_PAPER``), listed in :data:`SETTINGS` so that doctor knows them.

The environment is read by :func:`config` only; the object is rebuilt when a ``PYBRMS_*``
variable changes (a test, or a program that sets one), so nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "PYBRMS_"

#: the generic variables and what they do (plugins add theirs)
SETTINGS: dict[str, str] = {
    "PYBRMS_CACHE_DIR": "folder of compiled Stan programs (share it between Dask workers)",
    "PYBRMS_R_DIR": "folder of R sources to load instead of the package's own r/",
    # read by the test suite and its golden-file scripts only
    "PYBRMS_TEST_CACHE_DIR": "tests only: a compile cache to reuse instead of a fresh one",
    "PYBRMS_GOLDEN_FITS": "golden-file scripts only: keep their fits there (reruns skip compiles)",
    "PYBRMS_PAPER": "tests only: the paper's text, for the published-tables test",
}


@dataclass(frozen=True)
class Config:
    """pybrms's settings from the environment.

    Attributes
    ----------
    cache_dir : Path
        ``PYBRMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/pybrms/models``, else
        ``~/.cache/pybrms/models``.
    r_dir : Path, optional
        ``PYBRMS_R_DIR`` (None: the package's own R sources).
    variables : mapping
        Every ``PYBRMS_*`` variable that is set, by name (plugins read theirs here).
    """

    cache_dir: Path
    r_dir: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Read the settings from ``environ``."""
        env = {k: v for k, v in environ.items() if k.startswith(PREFIX)}
        cache = env.get("PYBRMS_CACHE_DIR")
        if cache:
            cache_dir = Path(cache)
        else:
            base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            cache_dir = base / "pybrms" / "models"
        r_dir = Path(env["PYBRMS_R_DIR"]) if env.get("PYBRMS_R_DIR") else None
        return cls(cache_dir=cache_dir, r_dir=r_dir, variables=dict(sorted(env.items())))

    def get(self, name: str, default: str | None = None) -> str | None:
        """A ``PYBRMS_*`` variable's value (for plugins' own settings)."""
        value = self.variables.get(name)
        return value if value else default

    def unknown(self, known: Mapping[str, str]) -> list[str]:
        """``PYBRMS_*`` variables that are set but that nothing reads (``known``: name -> doc)."""
        return [k for k in self.variables if k not in known]


_current: tuple[tuple[tuple[str, str], ...], Config] | None = None


def config() -> Config:
    """The settings of this process (rebuilt when a ``PYBRMS_*`` variable or
    ``XDG_CACHE_HOME`` changes).
    """
    global _current
    snapshot = tuple(sorted((k, v) for k, v in os.environ.items()
                            if k.startswith(PREFIX) or k == "XDG_CACHE_HOME"))
    if _current is None or _current[0] != snapshot:
        _current = (snapshot, Config.from_env(os.environ))
    return _current[1]
