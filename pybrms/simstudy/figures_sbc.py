"""SBC figures: rank histograms and the ECDF-difference plot with the simultaneous band.

The SBC package's ``plot_rank_hist`` and ``plot_ecdf_diff`` with the band of Säilynoja,
Bürkner & Vehtari (2022). Part of :mod:`pybrms.simstudy.figures` (import the public names from
there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pybrms.errors import SpecError

from .figures_common import _colour, _grid, _order
from .sbc import (
    bin_ranks,
    default_bins,
    default_k,
    ecdf_bands,
    rank_ecdf,
    rank_histogram_band,
)


def _sbc_frame(ranks: pd.DataFrame, max_rank: int | None, variables: Sequence[str] | None,
               method: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Validate a rank frame; returns it (with ``max_rank``) and the variables to draw."""
    missing = [c for c in ("variable", "rank") if c not in ranks.columns]
    if missing:
        raise SpecError(f"the ranks frame lacks the column(s) {missing}")
    frame = ranks.copy()
    if method is not None:
        if "method" not in frame.columns:
            raise SpecError("method= given but the ranks frame has no method column")
        frame = frame[frame["method"] == method]
    if max_rank is not None:
        frame["max_rank"] = int(max_rank)
    elif "max_rank" not in frame.columns:
        raise SpecError("give max_rank, or a max_rank column in the ranks frame")
    if frame.empty:
        raise SpecError("no ranks to draw")
    variables = _order(frame["variable"], variables, "variables")
    return frame, variables


def rank_histogram(
    ranks: pd.DataFrame,
    max_rank: int | None = None,
    *,
    bins: int | None = None,
    prob: float = 0.95,
    variables: Sequence[str] | None = None,
    method: str | None = None,
    title: str | None = None,
) -> Figure:
    """SBC rank histograms, one panel per variable, with the binomial band for bin counts.

    As the SBC package's ``plot_rank_hist``: ranks in ``bins`` bins of consecutive ranks
    (:func:`pybrms.simstudy.sbc.bin_ranks`), a shaded pointwise ``prob`` band for the
    counts and a line at the median count
    (:func:`pybrms.simstudy.sbc.rank_histogram_band`).

    Parameters
    ----------
    ranks : DataFrame
        A rank frame: ``variable``, ``rank``, optionally ``max_rank`` and ``method`` (see
        :func:`pybrms.simstudy.sbc.sbc_test`).
    max_rank : int, optional
        L; needed unless the frame has a ``max_rank`` column (constant per variable).
    bins : int, optional
        Number of bins (default :func:`pybrms.simstudy.sbc.default_bins`).
    prob : float
        Pointwise coverage of the band.
    variables : sequence of str, optional
        Variables in panel order (default all, sorted).
    method : str, optional
        Keep only this method's ranks (required when the frame has several methods).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per variable, each with ``bins`` bar patches, one band (a fill collection)
        and one horizontal line at the median count.

    Raises
    ------
    SpecError
        Missing columns, several methods without ``method``, ranks outside ``0..max_rank``.

    """
    frame, variables = _sbc_frame(ranks, max_rank, variables, method)
    if "method" in frame.columns and frame["method"].nunique() > 1:
        raise SpecError("the ranks frame has several methods: choose one with method=")
    fig, axs = _grid(len(variables))
    for ax, var in zip(axs, variables, strict=True):
        rows = frame[frame["variable"] == var]
        top = int(rows["max_rank"].iloc[0])
        r = rows["rank"].to_numpy(int)
        if r.min() < 0 or r.max() > top:
            raise SpecError(f"ranks of {var!r} lie outside 0..{top}")
        nb = default_bins(r.size, top) if bins is None else bins
        counts, widths = bin_ranks(r, top, nb)
        lefts = np.concatenate([[0], np.cumsum(widths)[:-1]]) - 0.5
        lo, mid, hi = rank_histogram_band(r.size, top, nb, prob)
        ax.fill_between([-0.5, top + 0.5], lo, hi, color="skyblue", alpha=0.4, linewidth=0,
                        label=f"{100 * prob:g}% band")
        ax.axhline(mid, color="grey", linewidth=1)
        ax.bar(lefts, counts, width=widths, align="edge", color="#808080", edgecolor="black",
               alpha=0.85)
        ax.set_title(str(var))
        ax.set_xlabel("Rank")
        ax.set_ylabel("Count")
    fig.suptitle(title or "SBC rank histograms" + (f" ({method})" if method else ""))
    return fig


def ecdf_diff_plot(
    ranks: pd.DataFrame,
    max_rank: int | None = None,
    *,
    prob: float = 0.95,
    K: int | None = None,
    variables: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """ECDF-difference plot of SBC ranks with the simultaneous band, one panel per variable.

    As the SBC package's ``plot_ecdf_diff``: the ECDF of the ranks minus the uniform CDF at
    ``z_i = i / K`` drawn as steps, inside the simultaneous ``prob`` band of Säilynoja et al.
    (2022) (:func:`pybrms.simstudy.sbc.ecdf_bands`, shifted by ``z``). Several methods are
    overlaid, one line each; one band is drawn per distinct number of ranks in the panel.

    Parameters
    ----------
    ranks : DataFrame
        A rank frame: ``variable``, ``rank``, optionally ``max_rank`` and ``method``.
    max_rank : int, optional
        L; needed unless the frame has a ``max_rank`` column.
    prob : float
        Simultaneous coverage of the band.
    K : int, optional
        Evaluation points (default :func:`pybrms.simstudy.sbc.default_k`).
    variables : sequence of str, optional
        Variables in panel order.
    methods : sequence of str, optional
        Methods to overlay, in legend order (default all, sorted; a frame without a
        ``method`` column is one unnamed method).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per variable, each with one step line per method (label: the method, or
        ``"ranks"``), a line at 0, and one band (a fill collection) per distinct N.

    Raises
    ------
    SpecError
        Missing columns or unknown variables/methods.

    """
    frame, variables = _sbc_frame(ranks, max_rank, variables, None)
    if "method" not in frame.columns:
        frame = frame.assign(method="ranks")
    methods = _order(frame["method"], methods, "methods")
    fig, axs = _grid(len(variables), sharex=True)
    for ax, var in zip(axs, variables, strict=True):
        rows = frame[frame["variable"] == var]
        sizes = sorted({int((rows["method"] == m).sum()) for m in methods} - {0})
        top = int(rows["max_rank"].iloc[0])
        for n in sizes:
            band = ecdf_bands(n, default_k(n, top) if K is None else K, prob)
            ax.fill_between(band["z"], band["lower_diff"], band["upper_diff"], step="post",
                            color="skyblue", alpha=0.4, linewidth=0,
                            label=f"{100 * prob:g}% band" + (f" (N={n})" if len(sizes) > 1
                                                              else ""))
        for i, method in enumerate(methods):
            r = rows.loc[rows["method"] == method, "rank"].to_numpy(int)
            if r.size == 0:
                continue
            k = default_k(r.size, top) if K is None else K
            zz = np.arange(k + 1) / k
            ax.step(zz, rank_ecdf(r, top, k) - zz, where="post", color=_colour(i),
                    label=str(method))
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_title(str(var))
        ax.set_xlabel("Fractional rank z")
        ax.set_ylabel("ECDF - z")
    axs[0].legend(fontsize="small")
    fig.suptitle(title or f"SBC: ECDF difference with simultaneous {100 * prob:g}% band")
    return fig
