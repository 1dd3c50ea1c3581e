"""Loading rpy2 (which starts embedded R) and undoing what R's start-up does to this process's
environment.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import RNotAvailableError

INSTALL_HINT = (
    "install R and the R packages with `make setup` in the pybrms checkout (it runs "
    "scripts/setup.sh: R's packages from apt, then pip with constraints.txt, whose rpy2 pair "
    "loads against R < 4.5); `pybrms doctor` checks everything and prints each fix"
)


#: the dynamic-loader variables R's start-up rewrites in this process's environment
LOADER_VARS = ("LD_LIBRARY_PATH",)

_MISSING = object()

#: their values before R started; None when R was already running when pybrms was imported, or
#: once they have been put back
_loader_env_before_r: dict[str, object] | None = (
    None if "rpy2.rinterface" in sys.modules
    else {k: os.environ.get(k, _MISSING) for k in LOADER_VARS}
)


def _restore_loader_env() -> None:
    """Put back the dynamic-loader path this process had before R started.

    Starting embedded R sets ``LD_LIBRARY_PATH`` (R's ``etc/ldpaths``: ``/usr/lib/R/lib`` and,
    on Debian, ``/usr/lib/x86_64-linux-gnu``, where the system's libpython lives) in the
    process environment. The running process does not need it (the loader reads it once, at
    exec), and R's own children (``R CMD SHLIB``, ``Rscript`` workers) set it again from
    ``ldpaths``; but any other program started later inherits it, and a Python that is not
    Debian's then loads Debian's libpython (``import ssl`` fails). R's other variables
    (``R_HOME``, ...) are left alone.
    """
    global _loader_env_before_r
    if _loader_env_before_r is None:
        return
    saved, _loader_env_before_r = _loader_env_before_r, None  # once: later changes are the user's
    for key, value in saved.items():
        if value is _MISSING:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)


def load_rpy2() -> Any:
    """Import ``rpy2.robjects`` (which starts embedded R) and restore the loader environment.

    Every path in pybrms that needs R goes through here first.

    Returns
    -------
    module
        ``rpy2.robjects``.

    Raises
    ------
    RNotAvailableError
        If rpy2 or R cannot be loaded.

    """
    try:
        import rpy2.rinterface_lib.callbacks  # noqa: F401
        import rpy2.robjects as ro
    except Exception as exc:  # ImportError, or R missing: rpy2 raises various errors
        raise RNotAvailableError(f"cannot load R through rpy2 ({exc}); {INSTALL_HINT}") from exc
    finally:
        _restore_loader_env()
    return ro
