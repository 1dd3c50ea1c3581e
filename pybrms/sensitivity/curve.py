"""The specification curve (Simonsohn, Simmons and Nelson 2020; as specr draws it).

Per focus term: the estimates of every fit with their 95% intervals, sorted by estimate (brms
and lme4 marked apart), and beneath them the choices panel: one row per axis option, a mark
under every estimate whose cell made that choice. A fit several cells share (an engine that
takes no priors, on cells that differ only in priors: column ``fit`` of ``cells.csv``) is one
point, marked under every choice of the cells it stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path

_STYLE = {"brms": ("o", "#1f77b4"), "lme4": ("s", "#d62728"), "statsmodels": ("^", "#2ca02c")}


def curve_points(df: pd.DataFrame, term: str, axes: Sequence[str]) -> pd.DataFrame:
    """The points of one term's curve: one row per fit, sorted by estimate.

    Columns: ``engine``, ``estimate``, ``conf_low``, ``conf_high``, ``fit``, ``cells`` (the
    cells it stands for) and, per axis, the set of options those cells chose.
    """
    fixed = df[(df["effect"] == "fixed") & (df["term"] == term)].copy()
    if "fit" not in fixed.columns:
        fixed["fit"] = fixed["cell"].astype(str) + "__" + fixed["engine"].astype(str)
    rows = []
    for fit, g in fixed.groupby("fit", sort=False):
        first = g.iloc[0]
        row = {"fit": fit, "engine": first["engine"], "estimate": float(first["estimate"]),
               "conf_low": float(first["conf_low"]), "conf_high": float(first["conf_high"]),
               "cells": list(g["cell"])}
        for axis in axes:
            row[axis] = frozenset(g[axis].astype(str))
        rows.append(row)
    cols = ["fit", "engine", "estimate", "conf_low", "conf_high", "cells", *axes]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("estimate", kind="stable").reset_index(drop=True)


def specification_curve(df: pd.DataFrame, terms: Sequence[str], axes: Sequence[str],
                        out: Path) -> dict[str, Path]:
    """Draw the curve of each focus term into ``OUT/specification_curve.png`` and ``.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = df[df["effect"] == "fixed"]
    terms = [t for t in terms if (fixed["term"] == t).any()]
    if not terms:
        return {}
    options = [(a, o) for a in axes for o in dict.fromkeys(fixed[a].astype(str))]
    n_opt = max(len(options), 1)
    ncols = 1 if len(terms) <= 2 else 2
    nrows = -(-len(terms) // ncols)
    points = {t: curve_points(df, t, axes) for t in terms}
    width = max(6.0, 0.18 * max(len(p) for p in points.values()) + 3)
    fig, axs = plt.subplots(
        2 * nrows, ncols, figsize=(width * ncols, nrows * (3.0 + 0.22 * n_opt)),
        gridspec_kw={"height_ratios": [3.0, 0.22 * n_opt + 0.3] * nrows}, squeeze=False)
    for k in range(len(terms), nrows * ncols):  # an odd number of terms: blank the last slot
        axs[2 * (k // ncols), k % ncols].axis("off")
        axs[2 * (k // ncols) + 1, k % ncols].axis("off")
    for i, term in enumerate(terms):
        row, col = 2 * (i // ncols), i % ncols
        top, bottom = axs[row, col], axs[row + 1, col]
        g = points[term]
        for engine, rows in g.groupby("engine", sort=False):
            marker, color = _STYLE.get(str(engine), ("D", "#555555"))
            est = rows["estimate"].to_numpy(float)
            top.errorbar(rows.index.to_numpy(), est,
                         yerr=[est - rows["conf_low"].to_numpy(float),
                               rows["conf_high"].to_numpy(float) - est],
                         fmt=marker, color=color, ms=4, lw=0.8, capsize=0, label=str(engine))
        top.axhline(0, color="black", lw=0.6, ls="--")
        top.set_ylabel(f"{term}\nestimate (95% interval)")
        top.set_xlim(-0.7, len(g) - 0.3)
        top.set_xticks([])
        top.legend(loc="upper left", fontsize=7, frameon=False)
        for j, (axis, opt) in enumerate(options):
            hit = g.index[g[axis].map(lambda chosen, o=opt: o in chosen)]
            for idx in hit:
                engine = g.loc[idx, "engine"]
                bottom.plot(idx, j, "|", color=_STYLE.get(str(engine), ("", "#555555"))[1],
                            ms=8, mew=1.5)
        bottom.set_yticks(range(len(options)))
        bottom.set_yticklabels([f"{a}: {o}" for a, o in options], fontsize=7)
        bottom.set_ylim(max(len(options), 1) - 0.5, -0.5)
        bottom.set_xlim(-0.7, len(g) - 0.3)
        bottom.set_xlabel("specifications, sorted by estimate")
        bottom.set_xticks([])
    fig.tight_layout()
    paths = {"curve_png": out / "specification_curve.png", "curve_pdf": out / "specification_curve.pdf"}
    for key, path in paths.items():
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=key.split("_")[1], dpi=130)
    plt.close(fig)
    return paths
