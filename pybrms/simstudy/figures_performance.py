"""Figures of performance measures: zip plot, a measure by condition, nested-loop plot.

The zip plot is Morris, White & Crowther (2019), Figure 5, as rsimsum's
``autoplot(type = "zip")`` (``.zip_plot`` in ``R/plot-types.R``); the nested-loop plot is
Rücker & Schwarzer (2014), "Presenting simulation results in a nested loop plot", BMC Medical
Research Methodology 14:129, as rsimsum's ``.nlp``. Part of :mod:`pybrms.simstudy.figures`
(import the public names from there).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from pybrms.errors import SpecError

from .figures_common import (
    MEASURE_LABELS,
    ZIP_COLOURS,
    _colour,
    _condition_columns,
    _grid,
    _one_term,
    _order,
    _reference,
    _scenario_label,
    _select_measure,
)
from .performance import subset_mask


# ----- zip plot -------------------------------------------------------------------------------
def zip_plot(
    estimates: pd.DataFrame,
    *,
    condition: Mapping[str, object] | None = None,
    term: str | None = None,
    methods: Sequence[str] | None = None,
    level: float = 0.95,
    subset: str = "all",
    zoom: float = 1.0,
    title: str | None = None,
) -> Figure:
    """Zip plot of interval coverage for one condition, one panel per method.

    Morris et al. (2019), Figure 5; rsimsum's ``.zip_plot``: each replicate's interval is a
    horizontal segment at height equal to the fractional centile of ``|z| = |estimate -
    truth| / std_error`` (``rank(|z|) / max(rank(|z|))``, average ranks for ties), coloured
    by whether it covers the truth; a dashed vertical line marks the truth, a thin line the
    nominal ``level`` (rsimsum draws 0.95 whatever the level), and two thick dashed lines the
    Monte Carlo 95% interval of the coverage, ``cover +- 1.96 mcse`` (green when it contains
    the level, red otherwise). When the truth varies between replicates the intervals are
    drawn minus their truth, the vertical line at 0.

    Parameters
    ----------
    estimates : DataFrame
        The estimates frame of :func:`pybrms.simstudy.performance.performance` (``rep``,
        ``method``, ``term``, ``estimate``, ``std_error``, ``conf_low``, ``conf_high``,
        ``truth``, ``converged``, optionally ``error`` and condition columns).
    condition : mapping, optional
        Condition column -> value selecting one condition (omit for a single condition).
    term : str, optional
        The term to show (needed when there are several).
    methods : sequence of str, optional
        Methods to show, in panel order (default: all, sorted).
    level : float
        Nominal level of the intervals.
    subset : {"all", "converged"}
        Replicates used (as :func:`~pybrms.simstudy.performance.performance`); replicates
        without a std_error or an interval limit are left out.
    zoom : float
        Show the top ``zoom`` fraction of the y axis (rsimsum's ``zoom``; 1 shows all).
    title : str, optional
        Figure title (default names the term and condition).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per method. Each axes has two line collections (``"covers"``, ``"misses"``)
        holding one segment per replicate, a vertical line at the truth and three horizontal
        lines: ``level``, ``cover - 1.96 mcse``, ``cover + 1.96 mcse`` (labels ``"nominal"``,
        ``"coverage MC lower"``, ``"coverage MC upper"``).

    Raises
    ------
    SpecError
        For an empty selection, several terms without ``term``, or an invalid ``zoom``.

    """
    if not 0 < zoom <= 1:
        raise SpecError(f"zoom must lie in (0, 1], not {zoom}")
    frame = estimates[subset_mask(estimates, subset)]
    for col, value in (condition or {}).items():
        if col not in frame.columns:
            raise SpecError(f"no condition column {col!r}")
        frame = frame[frame[col] == value]
    frame = frame.dropna(subset=["std_error", "conf_low", "conf_high"])
    if frame.empty:
        raise SpecError(f"no usable replicates for condition {dict(condition or {})}")
    frame = _one_term(frame, term)
    term = frame["term"].iloc[0]
    methods = _order(frame["method"], methods, "methods")
    fig, axs = _grid(len(methods), sharex=True, sharey=True)
    for ax, method in zip(axs, methods, strict=True):
        _zip_panel(ax, frame[frame["method"] == method], level, zoom)
        ax.set_title(str(method))
        ax.set_xlabel(f"{100 * level:g}% intervals")
    fig.legend(*axs[0].get_legend_handles_labels(), loc="outside lower center", ncols=6,
               fontsize="small")
    fig.supylabel("Fractional centile of |z|")
    fig.suptitle(title or f"Zip plot of coverage: {term} ({_scenario_label(condition or {})})")
    return fig


def _zip_panel(ax, rows: pd.DataFrame, level: float, zoom: float) -> None:
    """One method's zip: segments by |z| centile, truth, level and coverage MC interval."""
    est = rows["estimate"].to_numpy(float)
    truth = rows["truth"].to_numpy(float)
    low = rows["conf_low"].to_numpy(float)
    high = rows["conf_high"].to_numpy(float)
    covers = (low <= truth) & (truth <= high)
    ranks = stats.rankdata(np.abs(est - truth) / rows["std_error"].to_numpy(float))
    centile = ranks / ranks.max()
    centred = np.unique(truth).size > 1
    shift = truth if centred else np.zeros_like(truth)
    for hit, key in ((True, "covers"), (False, "misses")):
        sel = covers == hit
        ax.hlines(centile[sel], low[sel] - shift[sel], high[sel] - shift[sel],
                  colors=ZIP_COLOURS[key], linewidth=1,
                  label="covers truth" if hit else "misses truth")
    ax.axvline(0.0 if centred else truth[0], color="black", linestyle="--", linewidth=1,
               label="truth")
    # coverage and its Monte Carlo 95% interval (rsimsum: cover +- qnorm(0.975) mcse)
    p = float(covers.mean())
    half = stats.norm.ppf(0.975) * math.sqrt(p * (1 - p) / covers.size)
    inside = p - half <= level <= p + half
    ax.axhline(level, color="black", linewidth=0.8, label="nominal")
    for y, lab in ((p - half, "coverage MC lower"), (p + half, "coverage MC upper")):
        ax.axhline(y, color="#2ca02c" if inside else "#d62728", linestyle="--", linewidth=2,
                   label=lab)
    ax.set_ylim(1 - zoom, 1)


# ----- a measure by condition ----------------------------------------------------------------
def measure_plot(
    perf: pd.DataFrame,
    measure: str,
    *,
    term: str | None = None,
    subset: str = "all",
    methods: Sequence[str] | None = None,
    reference: float | None = None,
    z: float = 1.96,
    title: str | None = None,
) -> Figure:
    """A measure per condition and method, with ``+- z MCSE`` bars.

    Parameters
    ----------
    perf : DataFrame
        The frame of :func:`pybrms.simstudy.performance.performance`: condition columns,
        then ``method``, ``term``, ``subset``, ``measure``, ``value``, ``mcse``, ``n``,
        ``rule``, ``target``.
    measure : str
        One of rsimsum's measure names (``bias``, ``cover``...).
    term : str, optional
        The term to show (needed when there are several).
    subset : {"all", "converged"}
        Which replicate subset's values.
    methods : sequence of str, optional
        Methods in legend order (default: all, sorted).
    reference : float, optional
        Horizontal reference line (default the frame's ``target``: 0 for bias, the nominal
        level for coverage; none for a measure without a target).
    z : float
        Bar half-width in MCSEs (1.96: a 95% Monte Carlo interval).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; conditions on the x axis (``col=value, ...``), one ``errorbar`` container
        per method (dodged), and the reference line (label ``"reference"``) if any.

    Raises
    ------
    SpecError
        For a missing measure, term or method.

    """
    rows = _select_measure(perf, measure, term, subset)
    by = _condition_columns(perf)
    scenarios = (rows[by].drop_duplicates().sort_values(by).to_dict("records") if by
                 else [{}])
    methods = _order(rows["method"], methods, "methods")
    fig = Figure(figsize=(max(5.0, 1.1 * len(scenarios) + 2), 4.0), layout="constrained")
    ax = fig.subplots()
    width = 0.6
    for i, method in enumerate(methods):
        mrows = rows[rows["method"] == method]
        values = [_lookup(mrows, by, sc) for sc in scenarios]
        x = np.arange(len(scenarios)) + (i - (len(methods) - 1) / 2) * width / len(methods)
        y = np.array([v[0] for v in values])
        err = np.nan_to_num(np.array([v[1] for v in values]) * z)
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=3, color=_colour(i), label=str(method))
    ref = _reference(rows, reference)
    if ref is not None:
        ax.axhline(ref, color="black", linestyle=":", linewidth=1, label="reference")
    ax.set_xticks(np.arange(len(scenarios)), [_scenario_label(s) for s in scenarios],
                  rotation=30 if len(scenarios) > 4 else 0, ha="right" if len(scenarios) > 4
                  else "center")
    ax.set_xlabel("Condition")
    ax.set_ylabel(f"{MEASURE_LABELS.get(measure, measure)} (+- {z:g} MCSE)")
    ax.legend(fontsize="small")
    ax.set_title(title or f"{MEASURE_LABELS.get(measure, measure)}: {rows['term'].iloc[0]}"
                 f" ({subset} replicates)")
    return fig


def _lookup(rows: pd.DataFrame, by: list[str], scenario: Mapping) -> tuple[float, float]:
    """(value, mcse) of one scenario, NaN when absent."""
    sel = np.ones(len(rows), dtype=bool)
    for col, value in scenario.items():
        sel &= (rows[col] == value).to_numpy()
    if not sel.any():
        return math.nan, math.nan
    row = rows[sel].iloc[0]
    return float(row["value"]), float(row["mcse"])


# ----- nested loop plot -----------------------------------------------------------------------
def nested_loop_plot(
    perf: pd.DataFrame,
    measure: str,
    by: Sequence[str] | None = None,
    *,
    term: str | None = None,
    subset: str = "all",
    methods: Sequence[str] | None = None,
    reference: float | None = None,
    title: str | None = None,
) -> Figure:
    """Nested-loop plot: every scenario in nested order, the measure as steps per method.

    Rücker & Schwarzer (2014); rsimsum's ``.nlp``. The scenarios are the full factorial of the
    condition levels, ordered as R's ``expand.grid``: the first column of ``by`` varies
    fastest (innermost loop), the last slowest (pass ``by`` reversed for the other nesting).
    Scenarios absent from the frame leave gaps. Below the measure, one step line per
    condition column shows its level in each scenario (first column nearest the data, as
    rsimsum), labelled ``column: level1, level2, ...``.

    Parameters
    ----------
    perf : DataFrame
        The frame of :func:`pybrms.simstudy.performance.performance`.
    measure : str
        rsimsum's measure name.
    by : sequence of str, optional
        Condition columns in loop order (default: the frame's condition columns in order).
    term : str, optional
        The term to show (needed when there are several).
    subset : {"all", "converged"}
        Which replicate subset's values.
    methods : sequence of str, optional
        Methods in legend order.
    reference : float, optional
        Reference line (default the frame's ``target``, if any).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes sharing x: the upper has one step line per method (label: the method) and
        the reference line (label ``"reference"``); the lower one step line per condition
        column (label: the column).

    Raises
    ------
    SpecError
        Without condition columns, or for a missing measure, term or column.

    """
    rows = _select_measure(perf, measure, term, subset)
    by = list(by) if by is not None else _condition_columns(perf)
    if not by:
        raise SpecError("a nested-loop plot needs at least one condition column")
    missing = [c for c in by if c not in rows.columns]
    if missing:
        raise SpecError(f"the performance frame lacks the condition column(s) {missing}")
    levels = {c: _order(rows[c], None, c) for c in by}
    # expand.grid order: the first column varies fastest
    grid = [dict(zip(reversed(by), combo, strict=True))
            for combo in itertools.product(*(levels[c] for c in reversed(by)))]
    edges = np.arange(len(grid) + 1) + 0.5
    methods = _order(rows["method"], methods, "methods")
    fig = Figure(figsize=(max(6.0, 0.25 * len(grid) + 3), 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.2])
    for i, method in enumerate(methods):
        y = [_lookup(rows[rows["method"] == method], by, sc)[0] for sc in grid]
        top.step(edges, [*y, y[-1]], where="post", color=_colour(i), label=str(method))
    ref = _reference(rows, reference)
    if ref is not None:
        top.axhline(ref, color="black", linestyle=":", linewidth=1, label="reference")
    top.set_ylabel(MEASURE_LABELS.get(measure, measure))
    top.legend(fontsize="small")
    _loop_legend(bottom, by, levels, grid, edges)
    shape = " x ".join(str(len(levels[c])) for c in by)
    bottom.set_xlabel(f"{shape} = {len(grid)} ordered scenarios")
    fig.suptitle(title or f"Nested loop plot of {MEASURE_LABELS.get(measure, measure)}: "
                 f"{rows['term'].iloc[0]} ({subset} replicates)")
    return fig


def _loop_legend(ax, by: list[str], levels: dict, grid: list[dict], edges: np.ndarray) -> None:
    """The step lines of the condition levels, one band per column, first column on top."""
    for j, col in enumerate(by):
        base = len(by) - 1 - j  # each column gets a band of height 1: steps below, label above
        n_lev = len(levels[col])
        pos = [levels[col].index(sc[col]) for sc in grid]
        y = [base + 0.05 + 0.5 * (p / (n_lev - 1) if n_lev > 1 else 0.5) for p in pos]
        ax.step(edges, [*y, y[-1]], where="post", color="black", linewidth=1, label=col)
        ax.text(edges[0], base + 0.8, f"{col}: {', '.join(str(v) for v in levels[col])}",
                fontsize="small", va="center")
    ax.set_ylim(0, len(by))
    ax.set_yticks([])


# ----- SBC ------------------------------------------------------------------------------------
