"""All Python <-> R conversion, in one module.

Nothing else in pybrms imports rpy2 conversion machinery. R code lives in the package's ``r/``
folder (:mod:`pybrms.resources`) and is sourced once per process by the process's one
:class:`RSession`; Python calls the R functions defined there by name through :func:`call`. Conversions use ``localconverter`` (never a global ``activate()``),
and R's console output is captured by :func:`capture_console`, which restores rpy2's
callbacks on exit, even when R fails.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import select
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import resources
from .errors import RError, RNotAvailableError, RWarning
from .spec.rcode import RCall, RExpr

INSTALL_HINT = (
    "install R and the R packages with `make setup` (Debian/Ubuntu: apt-get install r-base "
    "r-base-dev r-cran-brms r-cran-rstan r-cran-lme4 r-cran-lmertest r-cran-emmeans), "
    "then `pip install rpy2==3.6.6 rpy2-rinterface==3.6.5`; `pybrms doctor` checks everything"
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


@contextlib.contextmanager
def capture_console(echo: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Capture everything R writes to its console while the block runs.

    Parameters
    ----------
    echo : callable, optional
        Called with each piece of text as R writes it (e.g. to show progress live).

    Yields
    ------
    list of str
        The captured pieces, in order (stdout and stderr interleaved, as R wrote them).

    """
    from rpy2.rinterface_lib import callbacks

    pieces: list[str] = []
    write = _collect(pieces, echo)
    saved = (callbacks.consolewrite_print, callbacks.consolewrite_warnerror, callbacks.showmessage)
    callbacks.consolewrite_print = write
    callbacks.consolewrite_warnerror = write
    callbacks.showmessage = write
    try:
        yield pieces
    finally:
        (
            callbacks.consolewrite_print,
            callbacks.consolewrite_warnerror,
            callbacks.showmessage,
        ) = saved


@contextlib.contextmanager
def capture_child_stdout(write: Callable[[str], None]) -> Iterator[None]:
    """Send what child processes write to standard output through ``write``, line by line.

    rstan runs parallel chains (``cores > 1``) in worker processes that inherit this process's
    file descriptor 1 and print their progress there, out of reach of R's console callbacks.
    While the block runs, descriptor 1 is a pipe read by a thread that hands each line to
    ``write``; Python's own ``sys.stdout`` keeps writing to the real standard output. On POSIX
    only (elsewhere the block runs unchanged).

    Parameters
    ----------
    write : callable
        Called with each line (with its newline), from the reading thread.

    """
    if os.name != "posix":
        yield
        return
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(1)
    rd, wr = os.pipe()
    os.dup2(wr, 1)
    os.close(wr)
    real_stdout = sys.stdout
    try:
        redirect_python = real_stdout.fileno() == 1
    except (AttributeError, ValueError, OSError):  # pytest's capture, a StringIO...
        redirect_python = False
    if redirect_python:
        sys.stdout = open(saved, "w", closefd=False, buffering=1,  # noqa: SIM115 - closed below
                          encoding=getattr(real_stdout, "encoding", None) or "utf-8",
                          errors="replace")
    stop = threading.Event()

    def pump() -> None:
        pending = b""
        try:
            while True:
                ready, _, _ = select.select([rd], [], [], 0.2)
                if ready:
                    chunk = os.read(rd, 65536)
                    if not chunk:
                        break
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        write(line.decode(errors="replace") + "\n")
                elif stop.is_set():
                    break
        except OSError:  # the read end was closed under a worker that outlived the block
            return
        if pending:
            write(pending.decode(errors="replace"))

    reader = threading.Thread(target=pump, name="pybrms-child-stdout", daemon=True)
    reader.start()
    try:
        yield
    finally:
        os.dup2(saved, 1)  # closes this process's copy of the pipe's write end
        stop.set()
        reader.join(timeout=10)
        if not reader.is_alive():
            os.close(rd)
        if redirect_python:
            sys.stdout.close()
            sys.stdout = real_stdout
        os.close(saved)


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
        with self.lock:
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
        with self.lock:
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


_WARNING = re.compile(r"^Warning(?: in [^:]*)?:\s*", re.M)


def _serialised(fn: Callable[[str], None]) -> Callable[[str], None]:
    lock = threading.Lock()

    def wrapped(text: str) -> None:
        with lock:
            fn(text)

    return wrapped


def _collect(out: list[str], echo: Callable[[str], None] | None) -> Callable[[str], None]:
    """A writer that keeps each piece of console text in ``out`` and passes it to ``echo``."""

    def write(text: str) -> None:
        out.append(text)
        if echo is not None:
            echo(text)

    return write


def r_warnings(console: str) -> list[str]:
    """The warnings in captured console text (R prints them at once: ``options(warn = 1)``)."""
    starts = [m for m in _WARNING.finditer(console)]
    out = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(console)
        text = console[m.end() : end].strip()
        # stop at the next progress/sampler line so only the warning's own text is kept
        text = text.split("\nChain ")[0].split("\nSAMPLING FOR")[0].strip()
        if text:
            out.append(text)
    return out


def _r_error_message(exc: Exception, out: list[str]) -> str:
    text = str(exc).strip()
    console = "".join(out)
    # R prints "Error in f(x) : message" on the console; prefer that full text when present
    idx = console.rfind("Error")
    if idx >= 0:
        text = console[idx:].strip()
    if text.startswith("Error in "):
        text = text.split(":", 1)[-1].strip() if ":" in text else text
    elif text.startswith("Error: "):
        text = text[len("Error: ") :]
    return text.strip()


def to_r(value: Any) -> Any:
    """Convert a Python value to an R object.

    ``None`` -> ``NULL``; bool/int/float/str -> length-one vectors (``nan`` -> ``NA``);
    lists/tuples of one scalar type -> vectors; dict -> named list; DataFrame -> data.frame
    (string columns stay character, categoricals become factors); numpy arrays -> vectors.
    R objects pass through unchanged.
    """
    ro = load_rpy2()
    from rpy2 import rinterface as ri

    if isinstance(value, ri.Sexp):
        return value
    if isinstance(value, RExpr):
        return _expr_to_r(value)
    if value is None:
        return ri.NULL
    if isinstance(value, pd.DataFrame):
        return _df_to_r(value)
    if isinstance(value, (bool, np.bool_)):
        return ro.BoolVector([bool(value)])
    if isinstance(value, (int, np.integer)):
        return ro.IntVector([int(value)])
    if isinstance(value, (float, np.floating)):
        return ro.FloatVector([ri.NA_Real if math.isnan(value) else float(value)])
    if isinstance(value, str):
        return ro.StrVector([value])
    if isinstance(value, dict):
        return (
            ro.ListVector([(str(k), to_r(v)) for k, v in value.items()])
            if value
            else ro.r("list()")
        )
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return ro.r("list()")
        if all(isinstance(v, (bool, np.bool_)) for v in value):
            return ro.BoolVector([bool(v) for v in value])
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return ro.IntVector([int(v) for v in value])
        if all(isinstance(v, (int, float, np.integer, np.floating)) or v is None for v in value) \
                and any(v is not None for v in value):
            # None and nan are R's NA_real_ (R's c(1, NA)), as for a single number
            return ro.FloatVector([ri.NA_Real if v is None or math.isnan(v) else float(v)
                                   for v in value])
        if all(isinstance(v, str) for v in value):
            return ro.StrVector(list(value))
        return ro.r["list"](*[to_r(v) for v in value])
    raise TypeError(f"cannot convert {type(value).__name__} to R")


def _expr_to_r(expr: RExpr) -> Any:
    """Evaluate an :class:`~pybrms.spec.rcode.RExpr` in R's global environment, as a script would.

    :class:`RCode` and :class:`RFormula` are parsed from their text; an :class:`RCall` calls
    its function with ``do.call`` on arguments converted by :func:`to_r` (numbers as exact
    doubles, never through decimal text).
    """
    ro = load_rpy2()
    if isinstance(expr, RCall):
        args = [to_r(a) for a in expr.args] + [to_r(v) for v in expr.kwargs.values()]
        names = [""] * len(expr.args) + [str(k) for k in expr.kwargs]
        arglist = ro.r["list"](*args)
        if args:
            arglist.names = ro.StrVector(names)
        return ro.r["pybrms_do_call"](expr.fn, arglist)
    return ro.r["pybrms_eval"](expr.code())


def _df_to_r(df: pd.DataFrame) -> Any:
    from rpy2.robjects import default_converter, pandas2ri
    from rpy2.robjects.conversion import localconverter

    clean = df.copy()
    clean.columns = [str(c) for c in clean.columns]
    for col in clean.columns:
        s = clean[col]
        if pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            clean[col] = s.astype(object)
    clean = clean.reset_index(drop=True)
    with localconverter(default_converter + pandas2ri.converter):
        out = pandas2ri.py2rpy(clean)
    # as R builds a data frame: automatic row names (pandas2ri writes "0", "1", ...), and
    # missing doubles as NA_real_ (pandas' NaN arrives as NaN), what read.csv gives an R script
    global _AS_R_FRAME
    if _AS_R_FRAME is None:
        _AS_R_FRAME = load_rpy2().r(_AS_R_FRAME_CODE)
    return _AS_R_FRAME(out)


#: R's view of a data frame from pandas (an R closure made once; needs none of r/*.R)
_AS_R_FRAME_CODE = """function(df) {
  for (i in seq_along(df)) if (is.double(df[[i]])) df[[i]][is.na(df[[i]])] <- NA_real_
  rownames(df) <- NULL
  df
}"""
_AS_R_FRAME: Any = None


#: how R stores NA in an integer vector
R_NA_INTEGER = -(2**31)


def to_pandas(robj: Any) -> pd.DataFrame:
    """Convert an R data.frame to a pandas DataFrame (row names dropped)."""
    from rpy2.robjects import default_converter, pandas2ri
    from rpy2.robjects.conversion import localconverter

    with localconverter(default_converter + pandas2ri.converter):
        df = pandas2ri.rpy2py(robj)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected an R data.frame, got {type(df).__name__}")
    from rpy2 import rinterface as ri

    # pandas2ri leaves R's NA_character_ in text columns as rpy2's NA object (not NaN)
    # and a logical NA as rpy2's NA object: logicals with missing values become pandas'
    # nullable booleans (R logicals with NA on the way back)
    for col in df.select_dtypes(include="object").columns:
        values = df[col].map(lambda v: None if v is ri.NA_Character or v is ri.NA_Logical else v)
        df[col] = values
        present = values.dropna()
        if len(present) < len(values) and len(present) and all(
                isinstance(v, (bool, np.bool_)) for v in present):
            df[col] = values.astype("boolean")
    # ... and R's NA_integer_ as INT_MIN, a value no R integer can take: integer columns with
    # missing values become pandas' nullable Int32 (R integers with NA on the way back)
    for col in df.select_dtypes(include="int32").columns:
        na = df[col].to_numpy() == R_NA_INTEGER
        if na.any():
            df[col] = df[col].astype("Int32").mask(na)
    return df.reset_index(drop=True)


def to_py(robj: Any) -> Any:
    """Convert an R vector or (nested) named list to plain Python values.

    Length-one atomic vectors become scalars, longer ones lists; ``NA`` becomes ``None``
    (``nan`` for doubles); named lists become dicts; data.frames become DataFrames.
    """
    ro = load_rpy2()
    from rpy2 import rinterface as ri

    if robj is ri.NULL:
        return None
    if isinstance(robj, ro.DataFrame):
        return to_pandas(robj)
    if isinstance(robj, (ro.ListVector, ri.ListSexpVector)):
        names = list(robj.names) if robj.names is not ri.NULL else None
        items = [to_py(v) for v in robj]
        return dict(zip(names, items, strict=True)) if names else items
    if isinstance(
        robj, (ri.StrSexpVector, ri.IntSexpVector, ri.FloatSexpVector, ri.BoolSexpVector)
    ):
        values = [_scalar(v) for v in robj]
        return values[0] if len(values) == 1 else values
    return robj


def to_py_list(robj: Any) -> list[Any]:
    """Like :func:`to_py`, but always a list (``NULL`` and ``character(0)`` give ``[]``)."""
    value = to_py(robj)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _scalar(v: Any) -> Any:
    from rpy2 import rinterface as ri

    if v is ri.NA_Logical or v is ri.NA_Integer or v is ri.NA_Character:
        return None
    if isinstance(v, float) and v is ri.NA_Real:
        return float("nan")
    return v


def r_matrix(robj: Any) -> np.ndarray:
    """Convert an R numeric matrix to a 2-D float numpy array (column-major aware).

    The values are copied: a numpy view of R's memory would dangle once R collects the
    object (measured: lme4 estimates read as 4.7e-310 after a later R call).
    """
    arr = np.array(robj, dtype=float, copy=True)
    dims = list(robj.dim)
    return np.ascontiguousarray(arr.reshape(dims[::-1]).T) if arr.ndim == 1 else arr


def write_console(text: str) -> None:
    """Write R console text to stderr (the default live echo)."""
    sys.stderr.write(text)
    sys.stderr.flush()
