"""Posterior predictive check figures (brms's ``pp_check`` types) drawn with matplotlib.

Consumes only arrays: the observed response ``y`` and a draws x observations matrix ``yrep``
from :meth:`pybrms.BrmsFit.posterior_predict` (what brms hands bayesplot). The drawing follows
bayesplot's conventions: ``y`` dark and thick, replicates light and thin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: pp_check types drawn here (bayesplot's ``ppc_<type>``)
PPC_TYPES: tuple[str, ...] = ("dens_overlay", "hist", "stat")
#: statistics for ``type="stat"`` (bayesplot's names; ``sd`` and ``var`` with n - 1 as R)
STATS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda a: np.mean(a, axis=-1),
    "median": lambda a: np.median(a, axis=-1),
    "sd": lambda a: np.std(a, axis=-1, ddof=1),
    "var": lambda a: np.var(a, axis=-1, ddof=1),
    "min": lambda a: np.min(a, axis=-1),
    "max": lambda a: np.max(a, axis=-1),
}
Y_COLOUR, YREP_COLOUR = "#011f4b", "#b3cde0"


def density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` on ``grid`` (Silverman's bandwidth, R's ``bw.nrd0``,
    the bandwidth ggplot's ``stat_density`` uses for bayesplot's overlays).
    """
    x = np.asarray(values, dtype=float)
    n = x.size
    sd = np.std(x, ddof=1)
    iqr = np.subtract(*np.percentile(x, [75, 25])) / 1.34
    lo = min(sd, iqr) if iqr > 0 else sd
    bw = 0.9 * (lo if lo > 0 else (abs(x[0]) or 1.0)) * n ** -0.2
    z = (grid[:, None] - x[None, :]) / bw
    return np.exp(-0.5 * z**2).sum(axis=1) / (n * bw * np.sqrt(2 * np.pi))


def ppc_figure(
    y: np.ndarray,
    yrep: np.ndarray,
    *,
    type: str = "dens_overlay",  # noqa: A002 - bayesplot's name
    stat: str = "mean",
    bins: int = 30,
    ax: Any = None,
    response: str = "y",
    draw_ids: np.ndarray | None = None,
) -> Any:
    """Draw one posterior predictive check.

    Parameters
    ----------
    y : array, shape (n,)
        Observed response.
    yrep : array, shape (draws, n)
        Posterior predictive draws.
    type : {"dens_overlay", "hist", "stat"}
        Density overlay of ``y`` on each replicate's density; histograms of ``y`` and of
        each replicate (one panel each); or the histogram of ``stat`` over replicates with
        ``stat(y)`` as a vertical line.
    stat : str
        A key of :data:`STATS`, for ``type="stat"``.
    bins : int
        Histogram bins.
    ax : matplotlib Axes, optional
        Draw there (``dens_overlay`` and ``stat`` only).
    response : str
        The response's name, for the axis label.
    draw_ids : array, optional
        The brms draw numbers of the rows of ``yrep`` (kept on the figure).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.pybrms_data`` holds ``y``, ``yrep``, ``draw_ids`` and, for ``stat``,
        ``T_y`` and ``T_yrep``.

    """
    import matplotlib.pyplot as plt

    y = np.asarray(y, dtype=float)
    yrep = np.atleast_2d(np.asarray(yrep, dtype=float))
    if yrep.shape[1] != y.size:
        raise ValueError(f"yrep has {yrep.shape[1]} columns, y has {y.size} values")
    if type not in PPC_TYPES:
        raise ValueError(f"type must be one of {', '.join(PPC_TYPES)}, got {type!r}")
    data: dict[str, Any] = {"y": y, "yrep": yrep,
                            "draw_ids": np.asarray(draw_ids if draw_ids is not None else [])}
    if type == "hist":
        if ax is not None:
            raise ValueError("type='hist' draws one panel per dataset; ax cannot be given")
        n = yrep.shape[0] + 1
        ncol = min(n, 4)
        nrow = int(np.ceil(n / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(2.4 * ncol, 1.9 * nrow), sharex=True,
                                 squeeze=False)
        edges = np.histogram_bin_edges(np.concatenate([y, yrep.ravel()]), bins=bins)
        for i, a in enumerate(axes.ravel()):
            if i >= n:
                a.set_visible(False)
                continue
            values, colour, label = (y, Y_COLOUR, "y") if i == 0 else \
                (yrep[i - 1], YREP_COLOUR, "yrep")
            a.hist(values, bins=edges, color=colour, edgecolor="white", label=label)
            a.set_yticks([])
            a.set_title(label, fontsize=9)
        fig.supxlabel(response)
    else:
        fig, ax = (plt.subplots(figsize=(6, 4)) if ax is None else (ax.figure, ax))
        if type == "dens_overlay":
            lo, hi = min(y.min(), yrep.min()), max(y.max(), yrep.max())
            pad = 0.05 * (hi - lo or 1.0)
            grid = np.linspace(lo - pad, hi + pad, 512)
            for i, row in enumerate(yrep):
                ax.plot(grid, density(row, grid), color=YREP_COLOUR, lw=0.8, alpha=0.7,
                        label="yrep" if i == 0 else None)
            ax.plot(grid, density(y, grid), color=Y_COLOUR, lw=2.0, label="y")
            ax.set_yticks([])
            ax.set_xlabel(response)
        else:
            fun = STATS[stat]
            t_rep, t_y = fun(yrep), float(fun(y))
            ax.hist(t_rep, bins=bins, color=YREP_COLOUR, edgecolor="white",
                    label=f"T = {stat}, T(yrep)")
            ax.axvline(t_y, color=Y_COLOUR, lw=2.0, label="T(y)")
            ax.set_yticks([])
            ax.set_xlabel(f"{stat}({response})")
            data.update(T_y=t_y, T_yrep=t_rep)
        ax.legend(frameon=False)
    fig.tight_layout()
    fig.pybrms_data = data
    return fig
