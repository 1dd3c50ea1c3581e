"""Check a DataFrame against a formula and family before anything reaches R or Stan."""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from ..errors import DataError
from .families import Family
from .formula import Formula


def _column(data: pd.DataFrame, name: str) -> pd.Series:
    if name not in data.columns:
        close = difflib.get_close_matches(name, [str(c) for c in data.columns], n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise DataError(
            f"column {name!r} used in the formula is not in the data{hint}; "
            f"columns are: {', '.join(map(str, data.columns))}"
        )
    return data[name]


def _plain_response(formula: Formula) -> str | None:
    """The response column when the response is a bare column name, else None."""
    r = formula.response.strip().strip("`")
    return r if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", r) else None


def validate_data(formula: Formula, family: Family, data: pd.DataFrame) -> None:
    """Raise :class:`DataError` if ``data`` cannot feed ``formula`` under ``family``.

    Checks, in order: ``data`` is a non-empty DataFrame; every column the formula uses
    exists; no used column has missing values (brms would silently drop those rows);
    the response fits the family (0/1 for bernoulli, non-negative integers for counts,
    successes <= trials for binomial, > 0 for positive families).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise DataError("data has no rows")
    for name in sorted(formula.variables):
        col = _column(data, name)
        n_missing = int(col.isna().sum())
        if n_missing:
            first = col.index[col.isna()][0]
            raise DataError(
                f"column {name!r} has {n_missing} missing value(s) (first at row {first!r}); "
                "brms would drop those rows silently: remove or impute them first"
            )
    for name in sorted(formula.fixed_variables | formula.response_variables):
        col = data[name]
        if col.dtype == object and not all(isinstance(v, str) for v in col):
            raise DataError(f"column {name!r} mixes strings with other types")
    _check_response(formula, family, data)


def _check_response(formula: Formula, family: Family, data: pd.DataFrame) -> None:
    kind = family.response_kind
    if kind == "count_trials":
        if formula.is_cbind:
            return _check_cbind(formula, data)
        if "trials" not in formula.addition:
            raise DataError(
                f"family binomial needs 'y | trials(n)' or 'cbind(successes, failures)' "
                f"as the response; formula has {formula.response!r}"
            )
    name = _plain_response(formula)
    if name is None:
        return  # an expression such as log(score): brms evaluates it
    y = data[name]
    if kind in ("real", "positive", "unit") and not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"response column {name!r} must be numeric for family {family.name!r}")
    if kind == "binary":
        values = pd.unique(y.astype(object) if y.dtype == bool else y)
        bad = [v for v in values if v not in (0, 1) or isinstance(v, str)]
        if bad:
            raise DataError(
                f"family bernoulli needs a 0/1 response; column {name!r} has other values "
                f"such as {bad[:3]!r}"
            )
    elif kind in ("count", "count_trials"):
        _check_counts(y, name, family.name)
        if kind == "count_trials":
            trials = formula.addition["trials"].strip()
            if trials in data.columns:
                over = (y.to_numpy() > data[trials].to_numpy()).sum()
                if over:
                    raise DataError(
                        f"response {name!r} exceeds trials {trials!r} in {int(over)} row(s)"
                    )
    elif kind == "positive":
        if (y <= 0).any():
            raise DataError(
                f"family {family.name!r} needs a response > 0; column {name!r} has <= 0"
            )
    elif kind == "unit":
        if ((y <= 0) | (y >= 1)).any():
            raise DataError(f"family beta needs a response in (0, 1); column {name!r} has not")


def _check_counts(y: pd.Series, name: str, family: str) -> None:
    if not pd.api.types.is_numeric_dtype(y) or y.dtype == bool:
        raise DataError(f"family {family!r} needs integer counts; column {name!r} is {y.dtype}")
    arr = y.to_numpy(dtype=float)
    if (arr < 0).any() or (np.floor(arr) != arr).any():
        raise DataError(f"family {family!r} needs non-negative integer counts in column {name!r}")


def _check_cbind(formula: Formula, data: pd.DataFrame) -> None:
    for name in sorted(formula.response_variables):
        _check_counts(data[name], name, "binomial")
