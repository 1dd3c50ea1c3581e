"""Model comparison criteria: PSIS-LOO, WAIC, K-fold, Bayesian R2, Bayes factors
(brms's ``loo.R``, ``kfold.R``, ``bayes_R2.R``, ``bridgesampling.R``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from .args import check_probs, check_seed
from .elpd import is_elpd_data, loo_elpd_data, r_parts, waic_elpd_data
from .held import HeldFit


class CriteriaMethods(HeldFit):
    """``loo``, ``waic``, ``kfold``, ``bayes_R2``, ``loo_R2``, ``bayes_factor``."""

    def loo(
        self,
        *,
        moment_match: bool = False,
        reloo: bool = False,
        k_threshold: float | None = None,
        moment_match_args: Mapping[str, Any] | None = None,
        reloo_args: Mapping[str, Any] | None = None,
        resp: str | Sequence[str] | None = None,
        seed: int | None = None,
        arviz: bool = False,
    ) -> dict[str, Any] | Any:
        """Approximate leave-one-out cross-validation by PSIS (``brms::loo``).

        The numbers are R's: brms computes the pointwise log-likelihood and the loo package
        smooths the importance weights, as ``loo(fit, ...)`` in an R script.

        Parameters
        ----------
        moment_match : bool
            Moment matching for observations whose Pareto k exceeds ``k_threshold``
            (``loo::loo_moment_match`` through brms). It needs every parameter's draws: the
            fit must have been made with ``save_pars=pybrms.save_pars(all=True)``.
        reloo : bool
            Refit the model once per observation whose Pareto k exceeds ``k_threshold``,
            leaving it out, and use the exact elpd for it (``brms::reloo``; the compiled
            program is reused). Each refit samples as the fit did unless ``reloo_args`` says
            otherwise; give ``seed`` for reproducible refits.
        k_threshold : float, optional
            The Pareto k above which moment matching or reloo treats an observation (brms's
            default, 0.7, when None).
        moment_match_args : mapping, optional
            Further arguments of ``loo_moment_match`` (``split``, ``cov``, ``max_iters``...).
        reloo_args : mapping, optional
            Further arguments of ``brms::reloo``: ``update()`` arguments for the refits
            (``chains``, ``iter``...) and ``log_lik`` arguments.
        resp : str or sequence of str, optional
            The responses of a multivariate model to cross-validate (brms's ``resp``).
        seed : int, optional
            ``set.seed(seed)`` in R before the call: reloo's refits draw their seeds from R's
            random numbers (PSIS and moment matching draw none).
        arviz : bool
            Return an ArviZ ``ELPDData`` (what ``arviz.loo(idata, pointwise=True)`` returns,
            filled with R's numbers) instead of the dict.

        Returns
        -------
        dict or arviz.ELPDData
            By default a dict: ``estimates`` (``metric`` elpd_loo, p_loo, looic with
            ``Estimate`` and ``SE``), ``pointwise`` (elpd_loo, mcse_elpd_loo, p_loo, looic,
            influence_pareto_k per observation), ``pareto_k`` and ``n_eff`` (arrays),
            ``pareto_k_table`` (loo's table: ranges ``(-Inf, 0.5]`` good, ``(0.5, 0.7]`` ok,
            ``(0.7, 1]`` bad, ``(1, Inf)`` very bad, with ``Count``, ``Proportion`` and
            ``Min. n_eff``), ``pointwise_elpd`` and ``n_samples``.
            With ``arviz=True`` an ``ELPDData``: ``elpd_loo``, ``se``, ``p_loo``, ``loo_i``
            and ``pareto_k`` are R's, ``warning`` is True when a Pareto k exceeds 0.7, and
            ``se_p_loo`` (R's SE of p_loo) lets :func:`pybrms.loo_compare` reproduce R's
            comparison; ``arviz.compare`` takes it as it is.

        Raises
        ------
        PybrmsError
            On a malformed argument, or ``moment_match=True`` for a fit without
            ``save_pars(all = TRUE)``, before R is called.

        See Also
        --------
        waic, kfold, pybrms.loo_compare

        Examples
        --------
        >>> fit.loo()["estimates"]                         # doctest: +SKIP
        >>> elpd = fit.loo(moment_match=True, arviz=True)  # doctest: +SKIP
        >>> arviz.compare({"m1": elpd, "m2": fit2.loo(arviz=True)})  # doctest: +SKIP

        """
        args = _loo_args(moment_match, reloo, k_threshold, moment_match_args, reloo_args, resp)
        if args["moment_match"] and not self.saved_all_pars:
            raise PybrmsError(
                "loo(moment_match=True) needs every parameter's draws, but this fit was made "
                "without save_pars(all = TRUE): refit it with "
                "pybrms.brm(..., save_pars=pybrms.save_pars(all=True))")
        _, table = self._loo(args, check_seed(seed))
        if arviz:
            return loo_elpd_data(table)
        return dict(table)

    def _loo(self, args: dict[str, Any], seed: int | None) -> tuple[Any, dict[str, Any]]:
        """R's loo object and its tables; cached unless the result is random (reloo
        without a seed).
        """
        key = ("loo", repr(sorted(args.items())), seed)
        if key in self._cache:
            return self._cache[key]
        r_loo = bridge.call("pybrms_loo", self._r, args, seed=seed)
        table = bridge.to_py(bridge.call("pybrms_loo_table", r_loo))
        for name in ("pareto_k", "n_eff", "pointwise_elpd"):
            table[name] = np.atleast_1d(np.asarray(table[name], dtype=float))
        table["n_samples"] = int(table["n_samples"])
        if not (args["reloo"] and seed is None):
            self._cache[key] = (r_loo, table)
        return r_loo, table

    def waic(self, *, resp: str | Sequence[str] | None = None,
             arviz: bool = False) -> dict[str, Any] | Any:
        """The widely applicable information criterion (``brms::waic``).

        Parameters
        ----------
        resp : str or sequence of str, optional
            The responses of a multivariate model (brms's ``resp``).
        arviz : bool
            Return an ArviZ ``ELPDData`` (as ``arviz.waic(idata, pointwise=True)``, filled with
            R's numbers, plus ``se_p_waic``) instead of the dict.

        Returns
        -------
        dict or arviz.ELPDData
            By default ``estimates`` (elpd_waic, p_waic, waic with SE), ``pointwise``,
            ``n_high_p_waic`` (observations with p_waic > 0.4, for which loo warns that WAIC
            is unreliable) and ``n_samples``. With ``arviz=True`` the ELPDData, whose
            ``warning`` is True when ``n_high_p_waic > 0``.

        """
        out = bridge.to_py(bridge.call("pybrms_waic", self._r,
                                       {"resp": _check_resp(resp)}))
        out["n_high_p_waic"] = int(out["n_high_p_waic"])
        out["n_samples"] = int(out["n_samples"])
        return waic_elpd_data(out) if arviz else out

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



def _check_resp(resp: Any) -> str | list[str] | None:
    if resp is None or isinstance(resp, str):
        return resp
    if isinstance(resp, (list, tuple)) and resp and all(isinstance(r, str) for r in resp):
        return list(resp)
    raise PybrmsError(f"resp must be a response name or a list of them, got {resp!r}")


def _loo_args(moment_match: Any, reloo: Any, k_threshold: Any, moment_match_args: Any,
              reloo_args: Any, resp: Any) -> dict[str, Any]:
    """``brms::loo``'s arguments as brms names them, checked; None means brms's default."""
    for name, flag in (("moment_match", moment_match), ("reloo", reloo)):
        if not isinstance(flag, (bool, np.bool_)):
            raise PybrmsError(f"{name} must be True or False, got {flag!r}")
    if k_threshold is not None and (isinstance(k_threshold, bool) or not isinstance(
            k_threshold, (int, float, np.integer, np.floating)) or np.isnan(k_threshold)):
        raise PybrmsError(f"k_threshold must be a number, got {k_threshold!r}")
    extra = {}
    for name, value in (("moment_match_args", moment_match_args), ("reloo_args", reloo_args)):
        if value is not None and not isinstance(value, Mapping):
            raise PybrmsError(f"{name} must be a dict of {name[:-5]}'s arguments, got "
                              f"{type(value).__name__}")
        extra[name] = dict(value) if value else None
    return {"moment_match": bool(moment_match), "reloo": bool(reloo),
            "k_threshold": None if k_threshold is None else float(k_threshold),
            **extra, "resp": _check_resp(resp)}


def loo_compare(*models: Any, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Compare models by their expected log predictive density (``loo::loo_compare``).

    Parameters
    ----------
    *models : BrmsFit or arviz.ELPDData
        Either two or more fits (their default :meth:`~BrmsFit.loo` is used) or two or more
        ``ELPDData`` from ``fit.loo(arviz=True)`` or ``fit.waic(arviz=True)`` (all LOO or
        all WAIC): R's loo objects are rebuilt from the numbers R computed, so the table is
        R's in both cases.
    names : sequence of str, optional
        One per model (default ``model1``, ``model2``...).

    Returns
    -------
    DataFrame
        loo_compare's table, best model first: ``model``, ``elpd_diff``, ``se_diff`` and
        each model's estimates (``elpd_loo``, ``se_elpd_loo``, ``p_loo``, ``se_p_loo``,
        ``looic``, ``se_looic``; ``waic`` names for WAIC).

    Raises
    ------
    PybrmsError
        For fewer than two models, fits mixed with ELPDData, LOO mixed with WAIC, anything
        else (e.g. the dict of ``fit.loo()``), or an ELPDData that does not hold R's numbers.

    """
    if len(models) < 2:
        raise PybrmsError("loo_compare needs at least two models")
    names = list(names) if names is not None else [f"model{i + 1}" for i in range(len(models))]
    if len(names) != len(models):
        raise PybrmsError("loo_compare: one name per model")
    sorts = [_model_sort(m) for m in models]
    if len(set(sorts)) > 1:
        raise PybrmsError(
            "loo_compare takes either fits or ELPDData from fit.loo(arviz=True), not both: got "
            + ", ".join(type(m).__name__ for m in models))
    if sorts[0] == "fit":
        loos = [m._loo(_loo_args(False, False, None, None, None, None), None)[0] for m in models]
        return bridge.to_pandas(bridge.call("pybrms_loo_compare", bridge.to_r(loos), names))
    parts = [r_parts(m) for m in models]
    kinds = sorted({p["kind"] for p in parts})
    if len(kinds) > 1:
        raise PybrmsError("loo_compare: every ELPDData must hold the same criterion, got both "
                          "LOO and WAIC")
    return bridge.to_pandas(bridge.call("pybrms_loo_compare_rebuilt", parts, names))


def _model_sort(model: Any) -> str:
    if isinstance(model, CriteriaMethods):
        return "fit"
    if is_elpd_data(model):
        return "elpd"
    hint = (" (the dict of fit.loo(): pass the fit, or fit.loo(arviz=True))"
            if isinstance(model, dict) else "")
    raise PybrmsError(f"loo_compare compares BrmsFit objects or ArviZ ELPDData, got "
                      f"{type(model).__name__}{hint}")
