"""Data transforms of a grid option: pandas ``eval`` assignments, ``query`` filters, callables.

* ``transform = ["log_y = log10(y)", "x_c = x - x.mean()"]``: each an assignment evaluated by
  :meth:`pandas.DataFrame.eval` (a new or replaced column);
* ``transform = "mypackage.prep:drop_outliers"``: a named Python callable taking and returning a
  DataFrame;
* ``filter = "herd != 1"``: rows kept by :meth:`pandas.DataFrame.query`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence

import pandas as pd

from ..errors import SpecError

_CALLABLE = re.compile(r"^\s*([A-Za-z_][\w.]*):([A-Za-z_]\w*)\s*$")
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)")


def _missing_name(exc: Exception) -> str | None:
    m = re.search(r"name '([^']+)' is not defined", str(exc))
    return m.group(1) if m else None


def apply_transforms(df: pd.DataFrame, transforms: Sequence[str], filters: Sequence[str],
                     where: str) -> pd.DataFrame:
    """Apply a cell's transforms, then its filters.

    Parameters
    ----------
    df : DataFrame
        The cell's data.
    transforms, filters : sequence of str
        See the module docstring.
    where : str
        The cell, for error messages.

    Raises
    ------
    SpecError
        Naming the expression and the column the data lacks, or a callable that cannot be
        imported or does not return a DataFrame.
    """
    out = df.copy()
    for expr in transforms:
        m = _CALLABLE.match(expr)
        if m:
            try:
                func = getattr(importlib.import_module(m.group(1)), m.group(2))
            except (ImportError, AttributeError) as exc:
                raise SpecError(f"{where}: transform {expr!r} names no importable callable: "
                                f"{exc}") from exc
            out = func(out)
            if not isinstance(out, pd.DataFrame):
                raise SpecError(f"{where}: transform {expr!r} returned "
                                f"{type(out).__name__}, not a DataFrame")
            continue
        if not _ASSIGN.match(expr):
            raise SpecError(f"{where}: transform {expr!r} is neither an assignment "
                            "'column = expression' nor 'module:function' (row selections go "
                            "in 'filter')")
        try:
            out = out.eval(expr)
        except Exception as exc:  # noqa: BLE001 - pandas raises many kinds; all are user errors
            name = _missing_name(exc)
            what = f"column {name!r} is not in the data (columns: {', '.join(map(str, out.columns))})" \
                if name else str(exc)
            raise SpecError(f"{where}: transform {expr!r}: {what}") from exc
    for expr in filters:
        try:
            out = out.query(expr)
        except Exception as exc:  # noqa: BLE001
            name = _missing_name(exc)
            what = f"column {name!r} is not in the data (columns: {', '.join(map(str, out.columns))})" \
                if name else str(exc)
            raise SpecError(f"{where}: filter {expr!r}: {what}") from exc
        if out.empty:
            raise SpecError(f"{where}: filter {expr!r} leaves no rows")
    return out.reset_index(drop=True)
