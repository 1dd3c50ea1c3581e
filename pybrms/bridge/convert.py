"""Python <-> R conversion: values, R expressions written in Python, data frames as R holds them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..spec.rcode import RCall, RExpr
from .loader import load_rpy2


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
