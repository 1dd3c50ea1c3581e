"""Check a DataFrame against a formula and family before anything reaches R or Stan.

:func:`validate_data` is the one data validator: :func:`pybrms.brm`, :func:`pybrms.fit`, every
engine and the command line all reach it through :class:`pybrms.spec.model.FitSpec`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .families import Family
from .formula import Formula


def _label(index_label: object) -> str:
    """A row label as a user would write it: ``3``, not ``np.int64(3)``."""
    value = index_label.item() if hasattr(index_label, "item") else index_label
    return repr(value) if isinstance(value, str) else str(value)


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


def validate_data(
    formula: Formula,
    family: Family,
    data: pd.DataFrame,
    source: str | None = None,
    line_numbers: Sequence[int] | None = None,
) -> None:
    """Raise :class:`DataError` if ``data`` cannot feed ``formula`` under ``family``.

    Checks, in order: ``data`` is a non-empty DataFrame; every column the formula uses
    exists; no used column has missing values (brms would silently drop those rows);
    no predictor or response column is text that is mostly numbers with a few stray cells
    (:func:`check_numeric_columns`); the response fits the family (0/1 for bernoulli,
    non-negative integers for counts, successes <= trials for binomial, > 0 for positive
    families).

    Parameters
    ----------
    formula : Formula
        The parsed formula.
    family : Family
        The parsed family.
    data : DataFrame
        The data.
    source : str, optional
        File the data came from, named in errors.
    line_numbers : sequence of int, optional
        File line of each data row (default: row position + 2, a CSV with one header line).

    Raises
    ------
    DataError
        Naming the column, the row (or file line) and the value.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise DataError("data has no rows")
    # one plain formula: every name is a column, Python knows exactly; brms's model language
    # (bf(), nl = TRUE...): names may be parameters, so only those that are columns are
    # checked here and brms judges the rest
    names = sorted(formula.variables)
    if not formula.is_plain:
        names = [n for n in names if n in data.columns]
    modelled = formula.missing_modelled
    for name in names:
        col = _column(data, name)
        n_missing = int(col.isna().sum())
        if name in modelled:
            if not n_missing:
                raise DataError(
                    f"column {name!r} is modelled as missing with mi() but has no missing "
                    "values; drop mi() for it"
                )
            continue
        if n_missing:
            first = _label(col.index[col.isna()][0])
            raise DataError(
                f"column {name!r} has {n_missing} missing value(s) (first at row {first}); "
                "brms would drop those rows silently: remove or impute them first, or model "
                "them with mi()"
            )
    if formula.is_plain:
        used = sorted(formula.fixed_variables | formula.response_variables)
    else:
        used = [n for n in names if n not in formula.group_factors]
    check_numeric_columns(data, used, source=source, line_numbers=line_numbers)
    for name in used:
        col = data[name]
        if col.dtype == object and not all(isinstance(v, str) for v in col.dropna()):
            raise DataError(f"column {name!r} mixes strings with other types")
    if formula.is_plain or not (formula.language and formula.language.has_family):
        _check_response(formula, family, data)


def check_numeric_columns(
    data: pd.DataFrame,
    columns: Iterable[str],
    source: str | None = None,
    line_numbers: Sequence[int] | None = None,
) -> None:
    """Refuse text columns that are mostly numbers with a few stray non-numbers.

    A column such as ``x1`` read from a CSV with one cell ``"1,5"`` or ``"n/a"`` becomes
    text, and R would then treat it as a factor with hundreds of levels. A column whose
    values are all text (``"treatment"``) or all numbers written as text (``"1"``, ``"2"``,
    a legitimate factor) is accepted.

    Parameters
    ----------
    data : DataFrame
        The data.
    columns : iterable of str
        Columns to check (those the formula uses as predictors or response).
    source : str, optional
        File name, to name in the error.
    line_numbers : sequence of int, optional
        File line of each data row (default: row position + 2, a CSV with one header line).

    Raises
    ------
    DataError
        Naming the column, the file line (or row) and the offending value.
    """
    for col in columns:
        if col not in data.columns:
            continue
        s = data[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue  # declared a factor on purpose
        present = s.dropna()
        if present.empty:
            continue
        as_num = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        n_num = int(as_num.notna().sum())
        if n_num == 0 or n_num == len(present) or n_num < len(present) / 2:
            continue
        bad_index = as_num.index[as_num.isna()]
        pos = int(data.index.get_loc(bad_index[0]))
        where = (f"{source}, line {line_numbers[pos] if line_numbers is not None else pos + 2}"
                 if source else f"row {_label(bad_index[0])}")
        raise DataError(
            f"{where}, column {col!r}: value {present.loc[bad_index[0]]!r} is not a number, "
            f"but {n_num} of {len(present)} values in {col!r} are; fix the value "
            f"({len(bad_index)} non-numeric value(s) in all) or the column would be read "
            "as a factor"
        )


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
    if name is None or kind is None or name not in data.columns:
        return  # an expression such as log(score), or a family brms checks itself
    y = data[name].dropna()  # missing values modelled with mi()
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
                over = (y.to_numpy() > data.loc[y.index, trials].to_numpy()).sum()
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
