"""The process's one embedded R: its session, the lock every call holds, and R's thread."""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import resources
from ..errors import RError, RNotAvailableError, RWarning
from .console import (
    _collect,
    _r_error_message,
    _serialised,
    capture_child_stdout,
    capture_console,
    r_warnings,
)
from .convert import conversion, to_py, to_r
from .loader import INSTALL_HINT, load_rpy2


class RSession:
    """The one embedded R of this process, and everything pybrms keeps about it.

    Embedded R is single-threaded and not re-entrant, so a process has exactly one session
    (:func:`session`); parallel work uses separate processes. The session owns the lock every
    R call holds, the R code pybrms sources (once), which parts of R are set up (``core``:
    warnings printed as they happen; ``brms``: brms, rstan, Boost, Makevars), the Stan
    programs loaded in this process (:attr:`programs`, keyed by program key; the compile cache
    decides what may be reused, this only saves re-reading a file) and the toolchain facts that
    key the compile cache (:meth:`toolchain`).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._sourced = False
        self._features: set[str] = set()
        self.programs: dict[str, Any] = {}
        self._toolchain: dict[str, str] | None = None

    def start(self, feature: str = "brms") -> Any:
        """Start R (once), source pybrms's R files and set up ``feature``.

        Parameters
        ----------
        feature : {"core", "brms"}
            ``"brms"`` also loads brms and rstan (about 6 s); ``"core"`` (lme4) does not.

        Returns
        -------
        module
            ``rpy2.robjects``.

        Raises
        ------
        RNotAvailableError
            If rpy2 or R cannot be loaded, or a needed R package is missing.
        """
        ro = load_rpy2()
        if feature in self._features:
            return ro
        with self.lock, conversion():
            if feature in self._features:
                return ro
            r_dir = resources.r_dir()
            makevars = r_dir / "Makevars"
            with capture_console() as out:
                try:
                    if not self._sourced:
                        for name in resources.R_FILES:
                            ro.r["source"](str(r_dir / name))
                        self._sourced = True
                    if feature == "brms":
                        ro.r["pybrms_setup"](str(makevars) if makevars.exists() else "")
                    else:
                        ro.r["pybrms_setup_core"]()
                except Exception as exc:
                    text = "".join(out).strip() or str(exc)
                    raise RNotAvailableError(
                        f"R is there but pybrms cannot start it: {text}; {INSTALL_HINT}"
                    ) from exc
            self._features.add(feature)
            if feature == "brms":
                self._features.add("core")
        return ro

    def call(self, fname: str, *args: Any, echo: Callable[[str], None] | None = None,
             children: bool = False, feature: str = "brms", **kwargs: Any) -> Any:
        """Call the R function ``fname`` (defined in ``r/``) with converted arguments.

        Python values are converted with :func:`to_r`; the result is returned as an R object
        (convert it with :func:`to_py` or :func:`to_pandas`). R's console output is captured;
        pass ``echo`` to see it live. With ``children=True`` the standard output of processes
        R starts (rstan's parallel chains) is captured the same way
        (:func:`capture_child_stdout`). R warnings become :class:`~pybrms.errors.RWarning`.

        Raises
        ------
        RError
            Carrying R's own error message, if the R call fails (the Python exception R's
            failure raised is kept as ``__cause__``).
        """
        ro = self.start(feature)
        with self.lock, conversion():
            if children and echo is not None:  # R's callbacks and the pipe's reader both call it
                echo = _serialised(echo)
            with capture_console(echo) as out:
                # arguments written as R code (pybrms.bf(...), families) are evaluated here,
                # so R's errors in them come back as RError like the call's own
                try:
                    rargs = [to_r(a) for a in args]
                    rkwargs = {k: to_r(v) for k, v in kwargs.items()}
                except TypeError:
                    raise
                except Exception as exc:
                    msg = _r_error_message(exc, out)
                    raise RError(f"R error in an argument of {fname}(): {msg}",
                                 r_message=msg) from exc
                workers = (capture_child_stdout(_collect(out, echo)) if children
                           else contextlib.nullcontext())
                try:
                    with workers:
                        result = ro.r[fname](*rargs, **rkwargs)
                except Exception as exc:
                    msg = _r_error_message(exc, out)
                    raise RError(f"R error in {fname}(): {msg}", r_message=msg) from exc
        for text in r_warnings("".join(out)):
            warnings.warn(text, RWarning, stacklevel=3)
        return result

    def toolchain(self) -> dict[str, str]:
        """Everything besides the Stan code that changes a compiled binary (the cache key)."""
        if self._toolchain is None:
            v = to_py(self.call("pybrms_versions"))
            makevars = v.get("makevars") or ""
            flags = Path(makevars).read_text() if makevars and Path(makevars).exists() else ""
            self._toolchain = {
                "R": str(v["R"]),
                "brms": str(v["brms"]),
                "rstan": str(v["rstan"]),
                "StanHeaders": str(v["StanHeaders"]),
                "boost": str(v["boost"]),
                "makevars": flags,
                "platform": sys.platform,
            }
        return dict(self._toolchain)


_session: RSession | None = None

_session_lock = threading.Lock()


def session() -> RSession:
    """The process's one :class:`RSession` (made on first use; R starts on first call)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = RSession()
        return _session


_r_thread: Any = None

_r_thread_lock = threading.Lock()


def _in_dask_worker() -> bool:
    """True inside a task of a Dask worker (whose tasks run on threads of its pool)."""
    if "distributed" not in sys.modules:  # Dask loaded nothing: not a worker
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def on_r_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` here, or, in a Dask worker, on the process's one R thread.

    Embedded R and rpy2's conversion rules (a context variable, which Dask does not carry from
    one task's thread context to the next) must stay with the thread that started R; a Dask
    worker runs each task on a thread of its pool, so every task that touches R is handed to
    one long-lived thread per worker process.
    """
    global _r_thread
    if not _in_dask_worker():
        return func(*args, **kwargs)
    with _r_thread_lock:
        if _r_thread is None:
            from concurrent.futures import ThreadPoolExecutor

            _r_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pybrms-R")
    return _r_thread.submit(func, *args, **kwargs).result()


def ensure_r(feature: str = "brms") -> Any:
    """Start R with ``feature`` set up (see :meth:`RSession.start`); returns ``rpy2.robjects``."""
    return session().start(feature)


def call(fname: str, *args: Any, echo: Callable[[str], None] | None = None,
         children: bool = False, feature: str = "brms", **kwargs: Any) -> Any:
    """Call an R function of pybrms's R code in the process's session (:meth:`RSession.call`)."""
    return session().call(fname, *args, echo=echo, children=children, feature=feature, **kwargs)
