"""Shared pieces of the simulation-study figures: panel grids, colours, level orders, term and
measure selection. Part of :mod:`pybrms.simstudy.figures` (import the figures from there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from pybrms.errors import SpecError

from .performance import RESULT_COLUMNS

#: colours of coverers and non-coverers in the zip plot
ZIP_COLOURS = {"covers": "#4c72b0", "misses": "#dd8452"}
#: readable axis labels of rsimsum's measures
MEASURE_LABELS = {
    "bias": "Bias", "rbias": "Relative bias", "empse": "Empirical SE", "mse": "MSE",
    "rmse": "RMSE", "modelse": "Model-based SE", "relerror": "Relative % error in model SE",
    "cover": "Coverage", "becover": "Bias-eliminated coverage", "power": "Power",
}


# ----- helpers --------------------------------------------------------------------------------
def _grid(n: int, *, ncols: int | None = None, width: float = 4.0, height: float = 3.2,
          sharex: bool = False, sharey: bool = False) -> tuple[Figure, list]:
    """A figure with ``n`` panels in a grid (surplus grid cells removed)."""
    ncols = min(n, 3) if ncols is None else ncols
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.6), layout="constrained")
    axs = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey).ravel()
    for ax in axs[n:]:
        fig.delaxes(ax)
    return fig, list(axs[:n])


def _colour(i: int) -> str:
    return f"C{i % 10}"


def _order(values: pd.Series, wanted: Sequence | None, what: str) -> list:
    """Levels of a column in the requested order (default: categorical order, else sorted)."""
    present = list(pd.unique(values))
    if wanted is not None:
        unknown = [w for w in wanted if w not in present]
        if unknown:
            raise SpecError(f"unknown {what} {unknown}; present: {present}")
        return list(wanted)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if c in present]
    try:
        return sorted(present)
    except TypeError:
        return present


def _one_term(frame: pd.DataFrame, term: str | None) -> pd.DataFrame:
    """Rows of one term (``term`` may be omitted when there is only one)."""
    terms = list(pd.unique(frame["term"]))
    if term is None:
        if len(terms) != 1:
            raise SpecError(f"several terms {terms}: choose one with term=")
        term = terms[0]
    if term not in terms:
        raise SpecError(f"no rows for term {term!r}; terms present: {terms}")
    return frame[frame["term"] == term]


def _condition_columns(perf: pd.DataFrame) -> list[str]:
    """The condition columns of a performance frame: those it has before ``method``."""
    return [c for c in perf.columns if c not in RESULT_COLUMNS]


def _select_measure(perf: pd.DataFrame, measure: str, term: str | None,
                    subset: str) -> pd.DataFrame:
    missing = [c for c in ("method", "term", "subset", "measure", "value", "mcse")
               if c not in perf.columns]
    if missing:
        raise SpecError(f"the performance frame lacks the column(s) {missing}")
    rows = perf[(perf["measure"] == measure) & (perf["subset"] == subset)]
    if rows.empty:
        raise SpecError(f"no {measure!r} rows for subset {subset!r}")
    return _one_term(rows, term)


def _reference(rows: pd.DataFrame, reference: float | None) -> float | None:
    """The reference line: given, else the frame's ``target`` when finite and constant."""
    if reference is not None:
        return float(reference)
    if "target" in rows.columns:
        targets = rows["target"].dropna().unique()
        if len(targets) == 1:
            return float(targets[0])
    return None


def _scenario_label(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "all"


