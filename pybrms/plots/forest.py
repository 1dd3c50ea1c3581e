"""Forest plot of several engines' estimates, term by term (the paper's Figure 1 style).

Consumes only the tidy schema (:data:`pybrms.results.TIDY_COLUMNS`): one point and interval
per (term, engine), engines dodged vertically within each term and drawn in one colour each,
terms on the y axis (first term on top), a vertical line at zero and a legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results import TIDY_COLUMNS, tidy_frame

#: file extensions :func:`forest_plot` can write
FORMATS: tuple[str, ...] = (".png", ".svg", ".pdf")
#: marker per engine position (cycled), so engines differ in shape as well as colour
_MARKERS = ("o", "s", "D", "^", "v", "P")


def forest_plot(
    tidy: pd.DataFrame,
    path: str | Path | None = None,
    *,
    terms: Sequence[str] | None = None,
    engines: Sequence[str] | None = None,
    title: str | None = None,
    dodge: float = 0.6,
    figsize: tuple[float, float] | None = None,
    dpi: int = 150,
    legend_title: str = "Engine",
    xlabel: str | None = None,
) -> Any:
    """Draw each engine's estimate and interval per term; optionally save the figure.

    Parameters
    ----------
    tidy : DataFrame
        Rows in the tidy schema (several engines, one model); other columns are ignored.
    path : str or Path, optional
        Where to save; the extension picks the format (``.png``, ``.svg``, ``.pdf``).
    terms : sequence of str, optional
        Terms to show, top to bottom (default: every population-level effect, in order of
        first appearance).
    engines : sequence of str, optional
        Engines to show, in legend order (default: all, in order of first appearance).
    title : str, optional
        Axes title (default: the ``model`` column when it holds one formula).
    dodge : float
        Vertical space (in term units) shared by one term's engines.
    figsize : (float, float), optional
        Figure size in inches (default grows with the number of terms).
    dpi : int
        Resolution of raster output.
    legend_title : str
        Title of the legend of the ``engine`` groups (e.g. ``"DV"`` when the groups are
        responses rather than engines).
    xlabel : str, optional
        x-axis label (default ``"Estimate (95% interval)"`` with the frame's level).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes; each engine is one ``errorbar`` container labelled with the engine name.

    Raises
    ------
    ValueError
        For an unsupported file extension, unknown terms/engines, or nothing to plot.

    """
    if path is not None and Path(path).suffix.lower() not in FORMATS:
        raise ValueError(
            f"cannot save a forest plot as {Path(path).suffix or 'no extension'!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    df = tidy_frame(tidy.loc[:, [c for c in tidy.columns if c in TIDY_COLUMNS]])
    if terms is None:  # by default the population-level effects; name SD rows to plot them
        df = df[df["effect"] == "fixed"]
    df = df[np.isfinite(df["estimate"])]
    all_terms = list(dict.fromkeys(df["term"]))
    all_engines = list(dict.fromkeys(df["engine"]))
    terms = list(terms) if terms is not None else all_terms
    engines = list(engines) if engines is not None else all_engines
    for kind, asked, known in (("term", terms, all_terms), ("engine", engines, all_engines)):
        missing = [x for x in asked if x not in known]
        if missing:
            raise ValueError(
                f"no {kind} {', '.join(map(repr, missing))} in the tidy frame; "
                f"it has {', '.join(known)}"
            )
    df = df[df["term"].isin(terms) & df["engine"].isin(engines)]
    if df.empty:
        raise ValueError("nothing to plot: no rows with an estimate")

    import matplotlib.pyplot as plt

    n_terms, n_eng = len(terms), len(engines)
    if figsize is None:
        figsize = (7.5, 1.4 + 0.32 * n_terms * max(n_eng, 2))
    fig, ax = plt.subplots(figsize=figsize)
    ypos = {t: float(n_terms - 1 - i) for i, t in enumerate(terms)}
    offsets = np.linspace(dodge / 2, -dodge / 2, n_eng) if n_eng > 1 else np.zeros(1)
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for j, eng in enumerate(engines):
        sub = df[df["engine"] == eng].drop_duplicates("term")
        sub = sub.set_index("term").reindex([t for t in terms if t in set(sub["term"])])
        if sub.empty:
            continue
        y = np.array([ypos[t] for t in sub.index]) + offsets[j]
        x = sub["estimate"].to_numpy(float)
        lo = sub["conf_low"].to_numpy(float)
        hi = sub["conf_high"].to_numpy(float)
        has_ci = np.isfinite(lo) & np.isfinite(hi)
        xerr = np.vstack([np.where(has_ci, x - lo, 0.0), np.where(has_ci, hi - x, 0.0)])
        ax.errorbar(
            x,
            y,
            xerr=xerr,
            fmt=_MARKERS[j % len(_MARKERS)],
            color=colors[j % len(colors)],
            ecolor=colors[j % len(colors)],
            elinewidth=1.6,
            capsize=3,
            markersize=5,
            label=eng,
            linestyle="none",
        )
    ax.axvline(0.0, color="0.35", linewidth=0.9, linestyle="--", zorder=0)
    ax.set_yticks([ypos[t] for t in terms])
    ax.set_yticklabels(terms)
    ax.set_ylim(-0.5 - dodge / 2, n_terms - 0.5 + dodge / 2)
    levels = df["conf_level"].dropna().unique()
    level = f"{100 * levels[0]:g}% interval" if len(levels) == 1 else "interval"
    ax.set_xlabel(xlabel if xlabel is not None else f"Estimate ({level})")
    ax.set_ylabel("Term")
    models = [m for m in df["model"].unique() if m]
    if title is None and len(models) == 1:
        title = models[0]
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, format=Path(path).suffix.lower().lstrip("."))
    return fig
