"""Conditional effects and posterior predictive checks (brms's ``conditional_effects.R``,
``pp_check.R``), drawn with matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from ...plots.conditional import ConditionalEffects
from ...plots.ppc import PPC_TYPES, STATS, ppc_figure
from .args import PredictArgs, check_seed, re_formula_text
from .held import HeldFit


class EffectsMethods(HeldFit):
    """``conditional_effects()`` and ``pp_check()``."""

    def conditional_effects(
        self,
        effects: str | Sequence[str] | None = None,
        *,
        conditions: pd.DataFrame | None = None,
        re_formula: str | float | None = "NA",
        method: str = "posterior_epred",
        prob: float = 0.95,
        robust: bool = True,
        resolution: int = 100,
        int_conditions: dict | None = None,
        seed: int | None = None,
    ) -> Any:
        """``brms::conditional_effects``: the data of each effect, ready to plot.

        Parameters
        ----------
        effects : str or sequence of str, optional
            ``"x"``, ``"x:z"`` for an interaction...; default: every main effect and
            two-way interaction, as brms chooses.
        conditions, re_formula, method, prob, robust, resolution, int_conditions
            As in brms (``re_formula`` defaults to ``"NA"``, brms's ``NA``).
        seed : int, optional
            ``set.seed`` before the call (matters for ``method="posterior_predict"``).

        Returns
        -------
        pybrms.plots.conditional.ConditionalEffects
            A dict from effect name to brms's data frame (the effect's grid, ``estimate__``,
            ``se__``, ``lower__``, ``upper__``...); ``.plot()`` draws them.

        """
        if method not in ("posterior_epred", "posterior_predict", "posterior_linpred"):
            raise PybrmsError("method must be 'posterior_epred', 'posterior_predict' or "
                              f"'posterior_linpred', got {method!r}")
        if not 0 < prob < 1:
            raise PybrmsError(f"prob must be in (0, 1), got {prob}")
        eff = [effects] if isinstance(effects, str) else (None if effects is None
                                                          else list(effects))
        re = re_formula_text(re_formula)
        args = {"effects": eff, "conditions": conditions,
                "re_formula": "NULL" if re is None else re,  # NULL: all group-level terms
                "method": method, "prob": float(prob), "robust": bool(robust),
                "resolution": int(resolution), "int_conditions": int_conditions}
        out = bridge.to_py(bridge.call("pybrms_conditional_effects", self._r, args,
                                       seed=check_seed(seed)))
        return ConditionalEffects(out["data"], response=str(out["response"]))

    def pp_check(
        self,
        type: str = "dens_overlay",  # noqa: A002 - brms's name
        ndraws: int | None = None,
        *,
        draw_ids: Sequence[int] | None = None,
        newdata: pd.DataFrame | None = None,
        stat: str = "mean",
        bins: int = 30,
        seed: int | None = None,
        ax: Any = None,
    ) -> Any:
        """Posterior predictive check, as ``brms::pp_check`` draws it (matplotlib).

        Parameters
        ----------
        type : {"dens_overlay", "hist", "stat"}
            Density of ``y`` over the densities of ``ndraws`` replicated datasets; their
            histograms; or the distribution of a statistic of the replicates with the
            statistic of ``y`` marked.
        ndraws : int, optional
            brms's default: 10 draws for ``dens_overlay`` and ``hist``, all for ``stat``.
        draw_ids, newdata
            As in :meth:`posterior_predict`.
        stat : str
            For ``type="stat"``: ``mean``, ``median``, ``sd``, ``var``, ``min``, ``max``.
        bins : int
            Histogram bins for ``hist`` and ``stat``.
        seed : int, optional
            ``set.seed`` before the draws are chosen and made: the same ``y``/``yrep`` as
            ``set.seed(seed); pp_check(fit, ...)`` in R.
        ax : matplotlib Axes, optional
            Draw into this Axes (one-panel types only).

        Returns
        -------
        matplotlib.figure.Figure
            With ``fig.pybrms_data = {"y", "yrep", "draw_ids"}`` attached.

        """
        if type not in PPC_TYPES:
            raise PybrmsError(f"pp_check type must be one of {', '.join(PPC_TYPES)}, got {type!r}")
        if type == "stat" and stat not in STATS:
            raise PybrmsError(f"stat must be one of {', '.join(STATS)}, got {stat!r}")
        if ndraws is None and draw_ids is None:
            ndraws = None if type == "stat" else 10
        args = PredictArgs(newdata, ndraws=ndraws, draw_ids=draw_ids).for_r(self.ndraws)
        out = bridge.to_py(bridge.call("pybrms_pp_data", self._r, args["ndraws"],
                                       args["draw_ids"], newdata, seed=check_seed(seed)))
        y = np.atleast_1d(np.asarray(out["y"], dtype=float))
        yrep = np.atleast_1d(np.asarray(out["yrep"], dtype=float)).reshape(out["dim"], order="F")
        ids = np.atleast_1d(np.asarray(out["draw_ids"] or [], dtype=int))
        return ppc_figure(y, yrep, type=type, stat=stat, bins=bins, ax=ax,
                          response=self.response()[0],
                          draw_ids=ids)

