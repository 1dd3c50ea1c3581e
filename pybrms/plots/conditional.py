"""Conditional effects (brms's ``conditional_effects``): the data per effect and its figure.

:class:`ConditionalEffects` is what :meth:`pybrms.BrmsFit.conditional_effects` returns: a
dict from effect name (``"Days"``, ``"x:z"``) to brms's own data frame, whose columns are the
effect's grid (``effect1__``, ``effect2__``), the conditions (``cond__``) and the summaries
``estimate__``, ``se__``, ``lower__``, ``upper__``. :meth:`ConditionalEffects.plot` draws a
line with its interval band for a numeric effect, points with error bars for a categorical
one, and one line per level of the second variable for an interaction, as brms's
``plot()`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class ConditionalEffects(dict):
    """brms's conditional-effects data frames by effect name, plus :meth:`plot`.

    Parameters
    ----------
    data : dict of DataFrame
        brms's data frame per effect.
    response : str
        The response's name (the y-axis label).

    """

    def __init__(self, data: dict[str, pd.DataFrame], response: str = "y") -> None:
        super().__init__(data)
        self.response = response

    def plot(self, effects: list[str] | None = None, ncols: int = 2) -> Any:
        """One panel per effect; returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        names = list(self) if effects is None else list(effects)
        missing = [n for n in names if n not in self]
        if missing:
            raise KeyError(f"no conditional effect {missing}; have {list(self)}")
        ncols = max(1, min(ncols, len(names)))
        nrows = int(np.ceil(len(names) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 3.4 * nrows), squeeze=False)
        for a in axes.ravel()[len(names):]:
            a.set_visible(False)
        for name, ax in zip(names, axes.ravel(), strict=False):
            plot_effect(self[name], name, ax=ax, response=self.response)
        fig.tight_layout()
        return fig


def plot_effect(df: pd.DataFrame, name: str, ax: Any, response: str = "y") -> Any:
    """Draw one effect's data frame into ``ax`` (line + band, or points + error bars)."""
    x = df["effect1__"]
    numeric = pd.api.types.is_numeric_dtype(x)
    groups = ([(None, df)] if "effect2__" not in df.columns
              else list(df.groupby("effect2__", sort=False)))
    for i, (level, part) in enumerate(groups):
        colour = f"C{i}"
        label = None if level is None else str(level)
        if numeric:
            part = part.sort_values("effect1__")
            ax.fill_between(part["effect1__"], part["lower__"], part["upper__"], color=colour,
                            alpha=0.25, lw=0)
            ax.plot(part["effect1__"], part["estimate__"], color=colour, lw=1.8, label=label)
        else:
            offset = 0.0 if len(groups) == 1 else (i - (len(groups) - 1) / 2) * 0.15
            pos = np.arange(len(part)) + offset
            ax.errorbar(pos, part["estimate__"],
                        yerr=[part["estimate__"] - part["lower__"],
                              part["upper__"] - part["estimate__"]],
                        fmt="o", color=colour, capsize=3, label=label)
            ax.set_xticks(np.arange(len(part)), [str(v) for v in part["effect1__"]])
    parts = name.split(":")
    ax.set_xlabel(parts[0])
    ax.set_ylabel(response)
    if len(groups) > 1:
        ax.legend(title=parts[1] if len(parts) > 1 else None, frameon=False, fontsize=8)
    return ax
