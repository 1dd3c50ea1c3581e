"""All Python <-> R conversion, in one module.

Nothing else in pybrms imports rpy2 conversion machinery: this package is the one place,
in four modules: :mod:`.loader` (starting R), :mod:`.console` (R's output, warnings and
errors), :mod:`.convert` (values and data frames) and :mod:`.session` (the process's one R,
its lock and its thread). R code lives in the package's ``r/``
folder (:mod:`pybrms.resources`) and is sourced once per process by the process's one
:class:`RSession`; Python calls the R functions defined there by name through :func:`call`. Conversions use ``localconverter`` (never a global ``activate()``),
and R's console output is captured by :func:`capture_console`, which restores rpy2's
callbacks on exit, even when R fails.
"""

from __future__ import annotations

from .console import capture_child_stdout, capture_console, r_warnings, write_console
from .convert import R_NA_INTEGER, r_matrix, to_pandas, to_py, to_py_list, to_r
from .loader import INSTALL_HINT, load_rpy2
from .session import RSession, call, ensure_r, on_r_thread, session

__all__ = ["INSTALL_HINT", "R_NA_INTEGER", "RSession", "call", "capture_child_stdout",
           "capture_console", "ensure_r", "load_rpy2", "on_r_thread", "r_matrix", "r_warnings",
           "session", "to_pandas", "to_py", "to_py_list", "to_r", "write_console"]
