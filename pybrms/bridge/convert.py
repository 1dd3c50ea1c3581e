"""Python <-> R conversion: values, R expressions written in Python, data frames as R holds them."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..spec.rcode import RCall, RExpr
from .loader import load_rpy2


def conversion() -> Any:
    """rpy2's default conversion rules for the block, in whatever thread calls R.

    rpy2 keeps its conversion rules in a context variable, which a new thread (a web server's,
    a GUI's, ``threading.Thread``) does not inherit: without this, converting in any thread but
    the one that imported rpy2 fails with "Conversion rules ... appear to be missing". Every
    function here that touches rpy2's objects runs inside it.
    """
    from rpy2.robjects.conversion import localconverter

    return localconverter(load_rpy2().default_converter)


def _with_conversion(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with conversion():
            return fn(*args, **kwargs)

    return wrapped


@_with_conversion
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


#: how R stores NA in an integer vector
R_NA_INTEGER = -(2**31)


def _df_to_r(df: pd.DataFrame) -> Any:
    """The R data.frame an R script would hold for ``df`` (what ``read.csv`` gives).

    Columns of the common kinds are built directly (:func:`_column_to_r`): text as integer
    codes plus its unique strings, rebuilt in R by indexing (``uniques[codes]``), numbers and
    logicals copied as memory. Every other column (mixed types, dates, unsigned or wide
    integers, zero rows...) goes through rpy2's pandas converter as before, with its warnings
    and fall-back to text. R's ``data.frame()`` assembles the columns as rpy2 does.
    """
    from collections import OrderedDict

    from rpy2 import rinterface as ri
    from rpy2.robjects import default_converter, pandas2ri
    from rpy2.robjects.conversion import localconverter
    from rpy2.robjects.vectors import DataFrame

    columns: OrderedDict[str, Any] = OrderedDict()
    with localconverter(default_converter + pandas2ri.converter) as cv:
        for i, name in enumerate(str(c) for c in df.columns):
            s = df.iloc[:, i].reset_index(drop=True)
            if pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype(object)
            vec = _column_to_r(s) if len(s) else None
            if vec is None:  # rpy2's frame rule on this column alone (its warnings, its fall-backs)
                vec = ri.ListSexpVector(cv.py2rpy(s.to_frame(name)))[0]
            columns[name] = vec  # a repeated name keeps its first place and last column, as before
        out = DataFrame(columns)
    # as R builds a data frame: automatic row names (pandas2ri writes "0", "1", ...), and
    # missing doubles as NA_real_ (pandas' NaN arrives as NaN), what read.csv gives an R script
    return _r_helpers()["as_r_frame"](out)


def _column_to_r(s: pd.Series) -> Any | None:
    """One column as the R vector rpy2's pandas converter makes of it, or ``None`` to leave
    the column to that converter.

    The same vector, built without converting values one by one: doubles (float64), integers
    that fit R's (int8-int64; the value R uses for NA stays NA, as before), booleans, text
    (str with None/NaN/pandas.NA as NA_character_: integer codes and the unique strings,
    ``uniques[codes]`` in R) and categoricals with text levels (R factors with the declared
    levels). No ``names`` attribute: rpy2 writes the pandas index there, which R's
    ``data.frame()`` drops.
    """
    from rpy2 import rinterface as ri
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.vectors import FactorVector

    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not all(isinstance(c, str) for c in dtype.categories):
            return None  # rpy2 refuses; its fall-back (text, with a warning) stays
        return FactorVector(pandas2ri.py2rpy_categorical(s.cat))
    if not isinstance(dtype, np.dtype) or not dtype.isnative:
        return None
    values = s.to_numpy()
    if dtype.kind == "f" and dtype.itemsize == 8:
        return ri.FloatSexpVector.from_memoryview(memoryview(np.ascontiguousarray(values)))
    if dtype.kind == "i":
        if dtype.itemsize > 4 and (values.min() < R_NA_INTEGER or values.max() > 2**31 - 1):
            return None  # rpy2 cannot make R integers of these; it falls back to text
        return ri.IntSexpVector.from_memoryview(memoryview(values.astype(np.int32)))
    if dtype.kind == "b":
        return ri.BoolSexpVector.from_memoryview(memoryview(values.astype(np.int32)))
    if dtype.kind == "O":
        return _text_to_r(values)
    return None


def _text_to_r(values: np.ndarray) -> Any | None:
    """A column of Python strings as an R character vector: codes and uniques, indexed in R.

    ``None`` (rpy2's converter decides) unless every value is a ``str`` or one of the missing
    values rpy2 turns into ``NA_character_`` (None, a float NaN, pandas.NA), and at least one
    is a string.
    """
    from rpy2 import rinterface as ri

    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    codes, uniques = pd.factorize(values)
    missing = codes < 0
    if missing.any() and not all(
        v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
        for v in values[missing]
    ):
        return None  # e.g. NaT or a float32 NaN, which rpy2 does not read as NA
    index = np.where(missing, R_NA_INTEGER, codes + 1).astype(np.int32)
    return _r_helpers()["from_codes"](ri.StrSexpVector.from_iterable(uniques.tolist()),
                                      ri.IntSexpVector.from_memoryview(memoryview(index)))


#: R closures the conversion uses, made once (they need none of r/*.R)
_R_HELPERS_CODE = {
    # R's view of a data frame from pandas
    "as_r_frame": """function(df) {
  for (i in seq_along(df)) if (is.double(df[[i]])) df[[i]][is.na(df[[i]])] <- NA_real_
  rownames(df) <- NULL
  df
}""",
    # text from codes: the unique strings indexed by 1-based codes (NA_integer_ gives NA)
    "from_codes": "function(uniques, codes) uniques[codes]",
}

_R_HELPERS: dict[str, Any] = {}


def _r_helpers() -> dict[str, Any]:
    if not _R_HELPERS:
        ro = load_rpy2()
        _R_HELPERS.update({k: ro.r(code) for k, code in _R_HELPERS_CODE.items()})
    return _R_HELPERS



@_with_conversion
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


@_with_conversion
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


@_with_conversion
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


@_with_conversion
def r_matrix(robj: Any) -> np.ndarray:
    """Convert an R numeric matrix to a 2-D float numpy array (column-major aware).

    The values are copied: a numpy view of R's memory would dangle once R collects the
    object (measured: lme4 estimates read as 4.7e-310 after a later R call).
    """
    arr = np.array(robj, dtype=float, copy=True)
    dims = list(robj.dim)
    return np.ascontiguousarray(arr.reshape(dims[::-1]).T) if arr.ndim == 1 else arr
