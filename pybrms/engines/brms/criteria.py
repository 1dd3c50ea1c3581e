"""Model comparison criteria: PSIS-LOO, WAIC, K-fold, Bayesian R2, Bayes factors
(brms's ``loo.R``, ``kfold.R``, ``bayes_R2.R``, ``bridgesampling.R``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from .args import check_probs, check_seed
from .held import HeldFit


class CriteriaMethods(HeldFit):
    """``loo``, ``waic``, ``kfold``, ``bayes_R2``, ``loo_R2``, ``bayes_factor``."""

    def loo(self) -> dict[str, Any]:
        """PSIS-LOO (``brms::loo``).

        Returns
        -------
        dict
            ``estimates`` (``metric`` elpd_loo, p_loo, looic with ``Estimate`` and ``SE``),
            ``pointwise`` (elpd_loo, mcse_elpd_loo, p_loo, looic, influence_pareto_k per
            observation), ``pareto_k`` and ``n_eff`` (arrays), ``pareto_k_table`` (loo's
            table: ranges ``(-Inf, 0.5]`` good, ``(0.5, 0.7]`` ok, ``(0.7, 1]`` bad,
            ``(1, Inf)`` very bad, with ``Count``, ``Proportion`` and ``Min. n_eff``) and
            ``pointwise_elpd``.

        """
        if "loo" not in self._cache:
            self._cache["loo_r"] = bridge.call("pybrms_loo", self._r)
            table = bridge.to_py(bridge.call("pybrms_loo_table", self._cache["loo_r"]))
            for key in ("pareto_k", "n_eff", "pointwise_elpd"):
                table[key] = np.atleast_1d(np.asarray(table[key], dtype=float))
            self._cache["loo"] = table
        return dict(self._cache["loo"])

    def waic(self) -> dict[str, Any]:
        """WAIC (``brms::waic``): ``estimates`` (elpd_waic, p_waic, waic with SE),
        ``pointwise`` and ``n_high_p_waic`` (observations with p_waic > 0.4, for which loo
        warns that WAIC is unreliable).
        """
        out = bridge.to_py(bridge.call("pybrms_waic", self._r))
        out["n_high_p_waic"] = int(out["n_high_p_waic"])
        return out

    def kfold(
        self,
        K: int = 10,  # noqa: N803 - brms's name
        *,
        folds: Sequence[int] | str | None = None,
        group: str | None = None,
        seed: int | None = None,
        **update_args: Any,
    ) -> dict[str, Any]:
        """K-fold cross-validation (``brms::kfold``).

        brms refits the model K times with ``update()``; the compiled program is reused
        (nothing is compiled). Each refit samples as the original fit did unless
        ``update_args`` (``chains``, ``iter``...) say otherwise.

        Parameters
        ----------
        K : int
            Number of folds.
        folds : sequence of int or str, optional
            A fold number per observation, or ``"stratified"``/``"grouped"``/``"loo"``.
        group : str, optional
            Grouping variable for grouped folds.
        seed : int, optional
            ``set.seed`` before the call: the random fold split and every refit's seed follow.

        Returns
        -------
        dict
            ``estimates`` (elpd_kfold, p_kfold, kfoldic with SE), ``pointwise`` (with the
            ``fold`` of each observation) and ``K``.

        """
        if not isinstance(K, int) or isinstance(K, bool) or K < 2:
            raise PybrmsError(f"K must be an integer >= 2, got {K!r}")
        if group is not None and not isinstance(group, str):
            raise PybrmsError(f"group must be a variable name, got {group!r}")
        args = {"K": K, "folds": list(folds) if isinstance(folds, (list, tuple, np.ndarray))
                else folds, "group": group, **update_args}
        out = bridge.to_py(bridge.call("pybrms_kfold", self._r, args, seed=check_seed(seed)))
        out["K"] = int(out["K"])
        return out

    def bayes_R2(  # noqa: N802 - brms's name
        self, *, summary: bool = True, probs: Sequence[float] = (0.025, 0.975),
    ) -> pd.DataFrame | np.ndarray:
        """Bayesian R-squared (``brms::bayes_R2``): one row ``R2`` with Estimate, Est.Error
        and quantiles, or with ``summary=False`` one value per draw.
        """
        return self._r2("bayes_R2", summary, probs, None)

    def loo_R2(  # noqa: N802 - brms's name
        self, *, summary: bool = True, probs: Sequence[float] = (0.025, 0.975),
        seed: int | None = None,
    ) -> pd.DataFrame | np.ndarray:
        """LOO-adjusted R-squared (``brms::loo_R2``); brms draws Dirichlet weights, so pass
        ``seed`` for R's numbers. Output as :meth:`bayes_R2`.
        """
        return self._r2("loo_R2", summary, probs, seed)

    def _r2(self, which: str, summary: bool, probs: Sequence[float],
            seed: int | None) -> pd.DataFrame | np.ndarray:
        out = bridge.call("pybrms_R2", self._r, which, check_probs(probs), bool(summary),
                          seed=check_seed(seed))
        if summary:
            df = bridge.to_pandas(out)
            df.insert(0, "term", "R2")
            return df
        return np.atleast_1d(np.asarray(bridge.to_py(out), dtype=float))

    @property
    def saved_all_pars(self) -> bool:
        """Whether the fit kept every parameter (``save_pars = save_pars(all = TRUE)``)."""
        return bool(bridge.to_py(bridge.call("pybrms_saved_all_pars", self._r)))

    def bayes_factor(self, other: CriteriaMethods, *, seed: int | None = None,
                     **bridge_args: Any) -> dict[str, float]:
        """Bayes factor of this model over ``other`` by bridge sampling (``brms::bayes_factor``).

        Both fits must keep all parameters: fit them with
        ``pybrms.brm(..., save_pars=pybrms.save_pars(all=True))``.

        Parameters
        ----------
        other : BrmsFit
            The model in the denominator.
        seed : int, optional
            ``set.seed`` before bridge sampling (it draws random numbers).
        **bridge_args
            Passed to ``bridgesampling::bridge_sampler`` (``repetitions``, ``method``...).

        Returns
        -------
        dict
            ``bf`` (BF of this model over ``other``), ``log_bf``, ``logml_1``, ``logml_2``
            (the log marginal likelihoods) and the bridge sampler's iterations.

        Raises
        ------
        PybrmsError
            If either fit lacks ``save_pars(all = TRUE)``, before any sampling.

        """
        if not isinstance(other, CriteriaMethods):
            raise PybrmsError(f"bayes_factor compares two BrmsFit objects, got {type(other).__name__}")
        for name, f in (("this fit", self), ("the other fit", other)):
            if not f.saved_all_pars:
                raise PybrmsError(
                    f"bayes_factor needs every parameter's draws, but {name} was fitted without "
                    "save_pars(all = TRUE): refit it with "
                    "pybrms.brm(..., save_pars=pybrms.save_pars(all=True))")
        out = bridge.to_py(bridge.call("pybrms_bayes_factor", self._r, other._r,
                                       seed=check_seed(seed), args=dict(bridge_args)))
        res = {k: float(v) for k, v in out.items()}
        res["log_bf"] = res["logml_1"] - res["logml_2"]
        return res



def loo_compare(*fits: CriteriaMethods, names: Sequence[str] | None = None) -> pd.DataFrame:
    """``loo::loo_compare`` of several fits: elpd_diff and se_diff, best model first."""
    if len(fits) < 2:
        raise PybrmsError("loo_compare needs at least two fits")
    names = list(names) if names is not None else [f"model{i + 1}" for i in range(len(fits))]
    if len(names) != len(fits):
        raise PybrmsError("loo_compare: one name per fit")
    loos = []
    for f in fits:
        f.loo()
        loos.append(f._cache["loo_r"])
    return bridge.to_pandas(bridge.call("pybrms_loo_compare", bridge.to_r(loos), names))
