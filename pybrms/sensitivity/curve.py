"""The specification curve (Simonsohn, Simmons and Nelson 2020; as specr draws it).

Per focus term: the estimates of every cell and engine with their 95% intervals, sorted by
estimate (brms and lme4 marked apart), and beneath them the choices panel: one row per axis
option, a mark under every estimate whose cell made that choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path

_STYLE = {"brms": ("o", "#1f77b4"), "lme4": ("s", "#d62728"), "statsmodels": ("^", "#2ca02c")}


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
    width = max(6.0, 0.18 * len(fixed) / len(terms) + 3)
    fig, axs = plt.subplots(
        2 * nrows, ncols, figsize=(width * ncols, nrows * (3.0 + 0.22 * n_opt)),
        gridspec_kw={"height_ratios": [3.0, 0.22 * n_opt + 0.3] * nrows}, squeeze=False)
    for k in range(len(terms), nrows * ncols):  # an odd number of terms: blank the last slot
        axs[2 * (k // ncols), k % ncols].axis("off")
        axs[2 * (k // ncols) + 1, k % ncols].axis("off")
    for i, term in enumerate(terms):
        row, col = 2 * (i // ncols), i % ncols
        top, bottom = axs[row, col], axs[row + 1, col]
        g = fixed[fixed["term"] == term].sort_values("estimate", kind="stable").reset_index(drop=True)
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
            hit = g.index[g[axis].astype(str) == opt]
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
