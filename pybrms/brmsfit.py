"""``BrmsFit``: a fitted brms model held in R, with brms's own numbers brought to Python."""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import bridge
from .atomic import atomic_path, atomic_write_text
from .errors import ConvergenceWarning, PybrmsError
from .hashing import data_hash
from .results import PosteriorFitResult
from .spec.hypotheses import check_terms, parse_hypothesis

#: rstan sampler-parameter names -> ArviZ sample_stats names
_SAMPLE_STATS = {
    "accept_stat__": "acceptance_rate",
    "stepsize__": "step_size",
    "treedepth__": "tree_depth",
    "n_leapfrog__": "n_steps",
    "divergent__": "diverging",
    "energy__": "energy",
}
_META = (".chain", ".iteration", ".draw")


__all__ = ["BrmsFit", "ConvergenceWarning", "load", "loo_compare"]


class BrmsFit(PosteriorFitResult):
    """A fitted brms model (engine ``brms``).

    Parameters
    ----------
    rfit : rpy2 object
        The R ``brmsfit``.
    provenance : dict
        In the layout of :func:`pybrms.results.make_provenance` (versions, seed, options,
        data hash, timing; ``details`` holds the Stan program key and whether it was
        compiled).

    """

    engine = "brms"

    def __init__(self, rfit: Any, provenance: dict | None = None) -> None:
        self._r = rfit
        self.provenance: dict = dict(provenance or {})
        self.provenance.setdefault("warnings", [])
        self.method = str(self.provenance.get("method", "NUTS (Stan, through brms and rstan)"))
        self._cache: dict[str, Any] = {}

    # ----- basic accessors -------------------------------------------------------------
    @property
    def r(self) -> Any:
        """The underlying R ``brmsfit`` object."""
        return self._r

    @property
    def stancode(self) -> str:
        """The Stan program brms generated."""
        return str(bridge.to_py(bridge.call("pybrms_stancode", self._r)))

    @property
    def standata(self) -> dict[str, Any]:
        """The data passed to Stan, as a dict of numpy arrays / scalars."""
        out = bridge.to_py(bridge.call("pybrms_standata", self._r))
        return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in out.items()}

    @property
    def variables(self) -> list[str]:
        """All parameter names, as brms names them (``b_x``, ``sd_g__Intercept``, ...)."""
        v = bridge.to_py(bridge.call("pybrms_variables", self._r))
        return [v] if isinstance(v, str) else list(v)

    # ----- summaries -------------------------------------------------------------------
    def fixef(self, probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
        """Population-level effects, as ``brms::fixef()``: Estimate, Est.Error, quantiles."""
        return bridge.to_pandas(bridge.call("pybrms_fixef", self._r, list(map(float, probs))))

    def ranef(self, probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
        """Group-level effects, as ``brms::ranef()``, in long form (group, level, term, ...)."""
        return bridge.to_pandas(bridge.call("pybrms_ranef", self._r, list(map(float, probs))))

    def summary(self, probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
        """Every parameter: mean, sd, quantiles, Rhat, bulk and tail ESS (``posterior``)."""
        key = f"summary{tuple(probs)}"
        if key not in self._cache:
            self._cache[key] = bridge.to_pandas(
                bridge.call("pybrms_summary", self._r, list(map(float, probs)))
            )
        return self._cache[key].copy()

    def hypothesis(
        self,
        hypotheses: str | Sequence[str],
        alpha: float = 0.05,
        class_: str = "b",
        robust: bool = False,
    ) -> pd.DataFrame:
        """``brms::hypothesis()``: columns Hypothesis, Estimate, Est.Error, CI.Lower,
        CI.Upper, Evid.Ratio, Post.Prob, Star, with brms's values.

        One-sided hypotheses get a ``1 - 2 * alpha`` interval (brms's convention), so
        ``alpha = 0.05`` gives 90% intervals, as in the paper's tables.

        Raises
        ------
        SpecError
            If a hypothesis is malformed or names a parameter the model does not have.

        """
        items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
        if not 0 < alpha < 1:
            raise PybrmsError(f"alpha must be in (0, 1), got {alpha}")
        parsed = [parse_hypothesis(h) for h in items]
        if class_ == "b":
            check_terms(parsed, list(self.fixef()["term"]))
        out = bridge.to_pandas(
            bridge.call("pybrms_hypothesis", self._r, items, float(alpha), class_, robust)
        )
        out["Star"] = out["Star"].fillna("").astype(str)
        return out

    def _fixed(self, conf_level: float) -> dict[str, Any]:
        """Posterior mean and SD of the population-level effects, equal-tailed interval."""
        lo, hi = (1 - conf_level) / 2, 1 - (1 - conf_level) / 2
        fe = self.fixef(probs=(lo, hi))
        return {
            "term": fe["term"],
            "estimate": fe["Estimate"],
            "std_error": fe["Est.Error"],
            "conf_low": fe.iloc[:, 3],
            "conf_high": fe.iloc[:, 4],
            "conf_level": conf_level,
        }

    def _ran_pars(self, conf_level: float) -> dict[str, Any]:
        """``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>`` and ``sigma``, as brms names them."""
        lo, hi = (1 - conf_level) / 2, 1 - (1 - conf_level) / 2
        out = bridge.call("pybrms_ran_pars", self._r, [lo, hi])
        s = bridge.to_py(out)
        if s is None or len(s) == 0:
            return []
        terms = [str(v) for v in s["variable"]]
        return {
            "term": terms,
            "group": [_group_of(t) for t in terms],
            "estimate": s["mean"],
            "std_error": s["sd"],
            "conf_low": s.iloc[:, 3],
            "conf_high": s.iloc[:, 4],
            "conf_level": conf_level,
        }

    # ----- draws -----------------------------------------------------------------------
    def draws(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """All posterior draws with brms names plus ``.chain``, ``.iteration``, ``.draw``."""
        arg = None if variables is None else list(variables)
        df = bridge.to_pandas(bridge.call("pybrms_draws", self._r, arg))
        for col in _META:
            df[col] = df[col].astype(int)
        return df

    def sampler_params(self) -> pd.DataFrame:
        """Per-iteration NUTS diagnostics (post-warm-up) with ``.chain`` and ``.iteration``."""
        if "sampler" not in self._cache:
            self._cache["sampler"] = bridge.to_pandas(bridge.call("pybrms_sampler_params", self._r))
        return self._cache["sampler"].copy()

    def to_arviz(self, log_likelihood: bool = False, posterior_predictive: bool = False,
                 prior: bool = True, seed: int | None = None) -> Any:
        """An ArviZ ``InferenceData`` with brms parameter names and chain/draw dimensions.

        Groups:

        * ``posterior``: every parameter (``lp__`` goes to sample_stats as ``lp``). Indexed
          brms names become arrays with named dimensions: the group-level effects
          ``r_<g>[level,term]`` are one variable ``r_<g>`` with dims ``(<g>, <g>__term)`` and
          brms's levels and terms as coordinates (``r_Subject.sel(Subject="308",
          Subject__term="Days")``); other indexed names (``z_1[1,2]`` kept by
          ``save_pars(all = TRUE)``) get dims ``<name>_dim_0, ...`` with brms's 1-based
          indices.
        * ``sample_stats``: acceptance_rate, step_size, tree_depth, n_steps, diverging,
          energy and lp.
        * ``observed_data``: ``y``, the response as brms holds it (its name is in
          ``attrs["response"]``).
        * ``prior`` (when the fit has ``sample_prior = "yes"`` draws and ``prior=True``): the
          ``prior_*`` draws with brms's names (``prior_b``, ``prior_sd_Subject``...).
        * ``log_likelihood`` (``log_likelihood=True``): ``y`` with an ``obs`` dimension.
        * ``posterior_predictive`` (``posterior_predictive=True``): ``y``, one replicate per
          draw (``posterior_predict`` after ``set.seed(seed)`` when ``seed`` is given).
        """
        import arviz as az

        d = self.draws().sort_values([".chain", ".iteration"])
        chains = sorted(d[".chain"].unique())
        n_draw = int((d[".chain"] == chains[0]).sum())

        def by_chain(values: np.ndarray) -> np.ndarray:
            return values.reshape(len(chains), n_draw, *values.shape[1:])

        params = [c for c in d.columns if c not in _META and c != "lp__"]
        prior_cols = [c for c in params if c.startswith("prior_")] if prior else []
        post_cols = [c for c in params if c not in prior_cols]
        posterior, dims, coords = _arrays(d, post_cols, by_chain)
        sp = self.sampler_params().sort_values([".chain", ".iteration"])
        stats = {
            new: by_chain(sp[old].to_numpy().astype(bool if new == "diverging" else float))
            for old, new in _SAMPLE_STATS.items()
            if old in sp.columns
        }
        stats["lp"] = by_chain(d["lp__"].to_numpy())
        response, y = self.response()
        groups: dict[str, Any] = {"posterior": posterior, "sample_stats": stats,
                                  "observed_data": {"y": y}}
        dims["y"] = ["obs"]
        if prior_cols:
            groups["prior"], pdims, pcoords = _arrays(d, prior_cols, by_chain)
            dims.update(pdims)
            coords.update(pcoords)
        if log_likelihood:
            groups["log_likelihood"] = {"y": by_chain(self.log_lik())}
        if posterior_predictive:
            groups["posterior_predictive"] = {"y": by_chain(self.posterior_predict(seed=seed))}
        coords["obs"] = np.arange(len(y))
        return az.from_dict(
            **groups,
            coords=coords,
            dims=dims,
            attrs={
                "engine": "brms",
                "response": response,
                **{f"version_{k}": v for k, v in self.provenance.get("versions", {}).items()},
            },
        )

    # ----- diagnostics -----------------------------------------------------------------
    def _sampler_counts(self) -> tuple[int, int, int]:
        """Divergences and tree-depth hits after warm-up (rstan's sampler parameters) and
        the fit's tree-depth limit.
        """
        sp = self.sampler_params()
        limit = int(bridge.to_py(bridge.call("pybrms_max_treedepth", self._r)))
        return int(sp["divergent__"].sum()), int((sp["treedepth__"] >= limit).sum()), limit

    # ----- predictions (brms's posterior_* methods) -----------------------------------
    def posterior_predict(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> np.ndarray:
        """Draws from the posterior predictive distribution (``brms::posterior_predict``).

        Parameters
        ----------
        newdata : DataFrame, optional
            Data to predict for (default: the fitted data).
        re_formula : str, optional
            Group-level terms to include: ``None`` all (brms's ``NULL``), ``"NA"`` (or
            ``float("nan")``, ``"~0"``) none, or a formula such as ``"~ (1 | g)"``.
        ndraws : int, optional
            Use this many randomly chosen draws (brms draws them with R's RNG: pass ``seed``).
        draw_ids : sequence of int, optional
            The draws to use, numbered from 1 as in brms.
        allow_new_levels, sample_new_levels
            As in brms: whether ``newdata`` may hold group levels the fit has not seen, and
            how their effects are drawn.
        seed : int, optional
            ``set.seed(seed)`` in R right before the call, as an R script would write it.

        Returns
        -------
        numpy.ndarray
            Draws x observations (x responses for a multivariate model, as brms).

        """
        return self._draws_matrix("posterior_predict", newdata, re_formula, ndraws, draw_ids,
                                  allow_new_levels, sample_new_levels, seed)

    def posterior_epred(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> np.ndarray:
        """Draws of the expected value of the response (``brms::posterior_epred``).

        Arguments as in :meth:`posterior_predict`; returns draws x observations (x categories
        for categorical and ordinal families, x responses for multivariate models).
        """
        return self._draws_matrix("posterior_epred", newdata, re_formula, ndraws, draw_ids,
                                  allow_new_levels, sample_new_levels, seed)

    def posterior_linpred(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        transform: bool = False,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> np.ndarray:
        """Draws of the linear predictor (``brms::posterior_linpred``).

        ``transform=True`` applies the inverse link. Other arguments as in
        :meth:`posterior_predict`; returns draws x observations.
        """
        return self._draws_matrix("posterior_linpred", newdata, re_formula, ndraws, draw_ids,
                                  allow_new_levels, sample_new_levels, seed,
                                  transform=bool(transform))

    def log_lik(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> np.ndarray:
        """Pointwise log-likelihood (``brms::log_lik``): draws x observations.

        Arguments as in :meth:`posterior_predict` (``newdata`` must hold the response).
        """
        return self._draws_matrix("log_lik", newdata, re_formula, ndraws, draw_ids,
                                  allow_new_levels, sample_new_levels, seed)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        summary: bool = True,
        probs: Sequence[float] = (0.025, 0.975),
        robust: bool = False,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> pd.DataFrame | np.ndarray:
        """``brms::predict``: posterior predictive summaries, one row per observation.

        Returns
        -------
        DataFrame or numpy.ndarray
            With ``summary=True`` brms's columns ``Estimate``, ``Est.Error`` and one
            quantile column per ``probs`` (``Q2.5``, ``Q97.5``); with ``summary=False`` the
            draws x observations array (:meth:`posterior_predict`).

        """
        return self._pred_summary("predict", newdata, re_formula, summary, probs, robust,
                                  ndraws, draw_ids, allow_new_levels, sample_new_levels, seed)

    def fitted(
        self,
        newdata: pd.DataFrame | None = None,
        re_formula: str | float | None = None,
        *,
        scale: str = "response",
        summary: bool = True,
        probs: Sequence[float] = (0.025, 0.975),
        robust: bool = False,
        ndraws: int | None = None,
        draw_ids: Sequence[int] | None = None,
        allow_new_levels: bool = False,
        sample_new_levels: str = "uncertainty",
        seed: int | None = None,
    ) -> pd.DataFrame | np.ndarray:
        """``brms::fitted``: summaries of the expected response (``scale="response"``) or of
        the linear predictor (``scale="linear"``); columns as :meth:`predict`.
        """
        if scale not in ("response", "linear"):
            raise PybrmsError(f"scale must be 'response' or 'linear', got {scale!r}")
        return self._pred_summary("fitted", newdata, re_formula, summary, probs, robust,
                                  ndraws, draw_ids, allow_new_levels, sample_new_levels, seed,
                                  scale=scale)

    def _pred_args(self, newdata: Any, ndraws: Any, draw_ids: Any, allow_new_levels: bool,
                   sample_new_levels: str, **extra: Any) -> dict[str, Any]:
        """Check the arguments brms's prediction methods share, before R sees them."""
        if newdata is not None and not isinstance(newdata, pd.DataFrame):
            raise PybrmsError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        total = self.ndraws
        if ndraws is not None and (not isinstance(ndraws, (int, np.integer))
                                   or isinstance(ndraws, bool) or not 1 <= ndraws <= total):
            raise PybrmsError(f"ndraws must be an integer in 1..{total}, got {ndraws!r}")
        ids = None
        if draw_ids is not None:
            ids = [int(i) for i in np.atleast_1d(np.asarray(draw_ids))]
            bad = [i for i in ids if not 1 <= i <= total]
            if bad or not ids:
                raise PybrmsError(
                    f"draw_ids are numbered 1..{total} as in brms; got {bad or 'none'}")
        if sample_new_levels not in ("uncertainty", "gaussian", "old_levels"):
            raise PybrmsError("sample_new_levels must be 'uncertainty', 'gaussian' or "
                              f"'old_levels', got {sample_new_levels!r}")
        return {"newdata": newdata, "ndraws": None if ndraws is None else int(ndraws),
                "draw_ids": ids, "allow_new_levels": bool(allow_new_levels),
                "sample_new_levels": sample_new_levels, **extra}

    def _draws_matrix(self, method: str, newdata: Any, re_formula: Any, ndraws: Any,
                      draw_ids: Any, allow_new_levels: bool, sample_new_levels: str,
                      seed: int | None, **extra: Any) -> np.ndarray:
        args = self._pred_args(newdata, ndraws, draw_ids, allow_new_levels, sample_new_levels,
                               **extra)
        out = bridge.call("pybrms_draws_matrix", self._r, method, args,
                          re_formula=_re_formula(re_formula), seed=_seed(seed))
        return bridge.r_matrix(out)

    def _pred_summary(self, method: str, newdata: Any, re_formula: Any, summary: bool,
                      probs: Sequence[float], robust: bool, ndraws: Any, draw_ids: Any,
                      allow_new_levels: bool, sample_new_levels: str, seed: int | None,
                      **extra: Any) -> pd.DataFrame | np.ndarray:
        probs = _probs(probs)
        args = self._pred_args(newdata, ndraws, draw_ids, allow_new_levels, sample_new_levels,
                               summary=bool(summary), probs=probs, robust=bool(robust), **extra)
        out = bridge.call("pybrms_pred_summary", self._r, method, args,
                          re_formula=_re_formula(re_formula), seed=_seed(seed))
        return bridge.to_pandas(out) if summary else bridge.r_matrix(out)

    @property
    def ndraws(self) -> int:
        """Number of post-warm-up draws over all chains (``brms::ndraws``)."""
        if "ndraws" not in self._cache:
            self._cache["ndraws"] = int(bridge.to_py(bridge.call("pybrms_ndraws", self._r)))
        return self._cache["ndraws"]

    def response(self) -> tuple[str, np.ndarray]:
        """The response's name and values as brms holds them (``brms::get_y``)."""
        r = bridge.to_py(bridge.call("pybrms_response", self._r))
        return str(r["name"]), np.atleast_1d(np.asarray(r["y"], dtype=float))

    # ----- effects and checks ----------------------------------------------------------
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
        from .plots.conditional import ConditionalEffects

        if method not in ("posterior_epred", "posterior_predict", "posterior_linpred"):
            raise PybrmsError("method must be 'posterior_epred', 'posterior_predict' or "
                              f"'posterior_linpred', got {method!r}")
        if not 0 < prob < 1:
            raise PybrmsError(f"prob must be in (0, 1), got {prob}")
        eff = [effects] if isinstance(effects, str) else (None if effects is None
                                                          else list(effects))
        re = _re_formula(re_formula)
        args = {"effects": eff, "conditions": conditions,
                "re_formula": "NULL" if re is None else re,  # NULL: all group-level terms
                "method": method, "prob": float(prob), "robust": bool(robust),
                "resolution": int(resolution), "int_conditions": int_conditions}
        out = bridge.to_py(bridge.call("pybrms_conditional_effects", self._r, args,
                                       seed=_seed(seed)))
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
        from .plots.ppc import PPC_TYPES, STATS, ppc_figure

        if type not in PPC_TYPES:
            raise PybrmsError(f"pp_check type must be one of {', '.join(PPC_TYPES)}, got {type!r}")
        if type == "stat" and stat not in STATS:
            raise PybrmsError(f"stat must be one of {', '.join(STATS)}, got {stat!r}")
        if ndraws is None and draw_ids is None:
            ndraws = None if type == "stat" else 10
        args = self._pred_args(newdata, ndraws, draw_ids, False, "uncertainty")
        out = bridge.to_py(bridge.call("pybrms_pp_data", self._r, args["ndraws"],
                                       args["draw_ids"], newdata, seed=_seed(seed)))
        y = np.atleast_1d(np.asarray(out["y"], dtype=float))
        yrep = np.atleast_1d(np.asarray(out["yrep"], dtype=float)).reshape(out["dim"], order="F")
        ids = np.atleast_1d(np.asarray(out["draw_ids"] or [], dtype=int))
        return ppc_figure(y, yrep, type=type, stat=stat, bins=bins, ax=ax,
                          response=self.response()[0],
                          draw_ids=ids)

    def prior_summary(self, all: bool = True) -> pd.DataFrame:  # noqa: A002 - brms's name
        """``brms::prior_summary``: the priors the model used, with brms's columns
        (``prior``, ``class``, ``coef``, ``group``, ``resp``, ``dpar``, ``nlpar``, ``lb``,
        ``ub``, ``source``); ``all=False`` keeps only the priors set by the user.
        """
        return bridge.to_pandas(bridge.call("pybrms_prior_summary", self._r, bool(all)))

    # ----- model comparison ------------------------------------------------------------
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
        out = bridge.to_py(bridge.call("pybrms_kfold", self._r, args, seed=_seed(seed)))
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
        out = bridge.call("pybrms_R2", self._r, which, _probs(probs), bool(summary),
                          seed=_seed(seed))
        if summary:
            df = bridge.to_pandas(out)
            df.insert(0, "term", "R2")
            return df
        return np.atleast_1d(np.asarray(bridge.to_py(out), dtype=float))

    @property
    def saved_all_pars(self) -> bool:
        """Whether the fit kept every parameter (``save_pars = save_pars(all = TRUE)``)."""
        return bool(bridge.to_py(bridge.call("pybrms_saved_all_pars", self._r)))

    def bayes_factor(self, other: BrmsFit, *, seed: int | None = None,
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
        if not isinstance(other, BrmsFit):
            raise PybrmsError(f"bayes_factor compares two BrmsFit objects, got {type(other).__name__}")
        for name, f in (("this fit", self), ("the other fit", other)):
            if not f.saved_all_pars:
                raise PybrmsError(
                    f"bayes_factor needs every parameter's draws, but {name} was fitted without "
                    "save_pars(all = TRUE): refit it with "
                    "pybrms.brm(..., save_pars=pybrms.save_pars(all=True))")
        out = bridge.to_py(bridge.call("pybrms_bayes_factor", self._r, other._r,
                                       seed=_seed(seed), args=dict(bridge_args)))
        res = {k: float(v) for k, v in out.items()}
        res["log_bf"] = res["logml_1"] - res["logml_2"]
        return res

    def emmeans(
        self,
        specs: str,
        *,
        at: dict[str, Any] | None = None,
        contrast: str | None = None,
        by: str | Sequence[str] | None = None,
        type: str | None = None,  # noqa: A002 - emmeans's name
        level: float = 0.95,
    ) -> dict[str, pd.DataFrame]:
        """Estimated marginal means and contrasts (R's ``emmeans``; brms supports it).

        Parameters
        ----------
        specs : str
            emmeans's ``specs`` as a formula (``"~ Trt"``, ``"~ Trt | zAge"``) or a variable
            name (``"Trt"``).
        at : dict, optional
            Values of numeric predictors at which to compute the means.
        contrast : str, optional
            ``emmeans::contrast`` method (``"pairwise"``, ``"revpairwise"``, ``"trt.vs.ctrl"``,
            ``"poly"``...).
        by : str or sequence, optional
            ``by`` variables.
        type : str, optional
            ``"response"`` for the response scale (default: the link scale).
        level : float
            HPD interval level.

        Returns
        -------
        dict
            ``emmeans`` (one row per cell: ``emmean``, ``lower.HPD``, ``upper.HPD``) and,
            with ``contrast``, ``contrasts`` (``contrast``, ``estimate``, HPD bounds).

        """
        if not isinstance(specs, str) or not specs.strip():
            raise PybrmsError(f"specs must be a formula text or a variable name, got {specs!r}")
        formula = specs if "~" in specs else f"~ {specs}"
        if not 0 < level < 1:
            raise PybrmsError(f"level must be in (0, 1), got {level}")
        at_r = {k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v])
                for k, v in (at or {}).items()}
        out = bridge.to_py(bridge.call(
            "pybrms_emmeans", self._r, formula, at_r, contrast, float(level), type,
            [by] if isinstance(by, str) else (None if by is None else list(by))))
        return out

    # ----- refitting -------------------------------------------------------------------
    def update(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        seed: int | None = None,
        chains: int | None = None,
        iter: int | None = None,  # noqa: A002 - brms's name
        warmup: int | None = None,
        thin: int | None = None,
        cores: int | None = None,
        control: dict | None = None,
        refresh: int | None = None,
        quiet: bool = False,
        diagnose: bool = True,
        **brms_args: Any,
    ) -> BrmsFit:
        """Refit on new data or with new sampling settings, reusing the compiled program.

        brms's ``update(fit, newdata = ..., recompile = FALSE)``: nothing is compiled. The
        model (formula, family, priors) is the fit's own; to change it fit a new model
        with :func:`pybrms.brm`, which reuses a cached program whenever brms writes the same
        Stan code.

        Parameters
        ----------
        newdata : DataFrame, optional
            The new data (default: the fit's data).
        seed : int, optional
            Sampler seed (default: a random one, recorded in the provenance).
        chains, iter, warmup, thin, cores, control, refresh
            Sampling settings; unset ones keep the fit's.
        quiet, diagnose
            As in :func:`pybrms.brm`.
        **brms_args
            Other ``update()``/``brm()`` arguments that do not change the Stan program.

        Returns
        -------
        BrmsFit

        Warns
        -----
        UserWarning
            If brms would write a different Stan program for ``newdata`` (default priors
            that depend on the data): the refit keeps the fit's program and priors, as
            brms's ``update(recompile = FALSE)`` does, which is not what a fresh ``brm()``
            on ``newdata`` would fit.

        """
        model_changing = {"formula", "formula.", "family", "prior", "sample_prior", "data",
                          "stanvars", "autocor", "recompile", "backend", "fit"}
        bad = sorted(model_changing & set(brms_args))
        if bad:
            raise PybrmsError(
                f"update() reuses the compiled program and cannot change {', '.join(bad)}; "
                "fit a new model with pybrms.brm (it reuses a cached program when the Stan "
                "code is the same)")
        if newdata is not None and not isinstance(newdata, pd.DataFrame):
            raise PybrmsError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        for key, value in (("chains", chains), ("iter", iter), ("thin", thin), ("cores", cores)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise PybrmsError(f"{key} must be a positive integer, got {value!r}")
        seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31 - 1)
        old_opts = dict(self.provenance.get("options", {}))
        n_iter = iter if iter is not None else old_opts.get("iter")
        args: dict[str, Any] = {
            "seed": int(seed), "chains": chains, "iter": iter, "warmup": warmup, "thin": thin,
            "cores": cores, "control": control, "open_progress": False,
            "refresh": (0 if quiet else max(int(n_iter or 2000) // 10, 1)) if refresh is None
            else refresh,
            **brms_args,
        }
        args = {k: v for k, v in args.items() if v is not None}
        if newdata is not None and bool(bridge.to_py(
                bridge.call("pybrms_update_code_changes", self._r, newdata))):
            msg = ("brms writes a different Stan program for newdata (default priors that depend "
                   "on the data); update() keeps the fitted program and its priors, as brms's "
                   "update(recompile = FALSE) does: set every prior explicitly, or fit anew with "
                   "pybrms.brm, for a fit equal to a fresh brm() on newdata")
            warnings.warn(msg, UserWarning, stacklevel=2)
        t0 = time.perf_counter()
        live = None if quiet else bridge.write_console
        caught: list[str] = []
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            rfit = bridge.call("pybrms_update", self._r, newdata, args, echo=live,
                               children=(cores or int(old_opts.get("cores", 1))) > 1)
        for w in record:
            text = " ".join(str(w.message).split())
            if text and text not in caught:
                caught.append(text)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        prov = json.loads(json.dumps(self.provenance, default=str))
        used = {k: v for k, v in args.items() if k not in ("open_progress", "seed")}
        prov.update({
            "seed": int(seed),
            "options": {**old_opts, **json.loads(json.dumps(used, default=str))},
            "timing_seconds": {"sample": round(time.perf_counter() - t0, 3)},
            "warnings": caught,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        if newdata is not None:
            prov["data_hash"] = data_hash(newdata)
            prov["n_rows"] = int(len(newdata))
        details = dict(prov.get("details", {}))
        details.pop("diagnostics", None)
        details.update({"compiled": False, "updated_from": {
            "seed": self.provenance.get("seed"), "data_hash": self.provenance.get("data_hash")}})
        prov["details"] = details
        result = BrmsFit(rfit, provenance=prov)
        if diagnose:
            result.warn_diagnostics()
        return result

    # ----- persistence -----------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Save the brmsfit as ``path`` (.rds) and provenance beside it as ``.json``, atomically."""
        path = Path(path)
        if path.suffix != ".rds":
            path = path.with_suffix(".rds")
        with atomic_path(path) as tmp:
            bridge.call("pybrms_save_rds", self._r, str(tmp))
        atomic_write_text(
            path.with_suffix(".json"), json.dumps(self.provenance, indent=1, default=str)
        )
        return path

    def __repr__(self) -> str:
        p = self.provenance
        return f"<BrmsFit {p.get('formula', '?')!r} family={p.get('family', '?')} seed={p.get('seed')}>"


def _group_of(variable: str) -> str:
    """The grouping factor of ``sd_g__x``/``cor_g__x__y``; ``Residual`` for ``sigma``."""
    if variable.startswith(("sd_", "cor_")):
        return variable.split("_", 1)[1].split("__", 1)[0]
    return "Residual" if variable == "sigma" else ""


_INDEXED = re.compile(r"^(?P<base>.+)\[(?P<index>[^\[\]]+)\]$")


def _arrays(d: pd.DataFrame, columns: Sequence[str],
            by_chain: Any) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, list]]:
    """The draws columns as ArviZ variables: scalars as they are, ``base[i,j]`` names
    gathered into one array per base with named dimensions and brms's index values as
    coordinates (``r_<g>`` gets dims ``<g>``, ``<g>__term``).
    """
    out: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    coords: dict[str, list] = {}
    indexed: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for col in columns:
        m = _INDEXED.match(col)
        if m:
            indexed.setdefault(m["base"], []).append((col, tuple(m["index"].split(","))))
        else:
            out[col] = by_chain(d[col].to_numpy())
    for base, items in indexed.items():
        ndim = len(items[0][1])
        axes: list[list[str]] = [[] for _ in range(ndim)]
        for _, idx in items:
            if len(idx) != ndim:
                break
            for k, v in enumerate(idx):
                if v not in axes[k]:
                    axes[k].append(v)
        sizes = [len(a) for a in axes]
        if any(len(idx) != ndim for _, idx in items) or math.prod(sizes) != len(items) \
                or base in out:
            for col, _ in items:  # not a full grid: keep brms's flat names
                out[col] = by_chain(d[col].to_numpy())
            continue
        first = by_chain(d[items[0][0]].to_numpy())
        arr = np.empty(first.shape + tuple(sizes), dtype=float)
        for col, idx in items:
            pos = tuple(axes[k].index(v) for k, v in enumerate(idx))
            arr[(slice(None), slice(None), *pos)] = by_chain(d[col].to_numpy())
        if base.startswith("r_") and ndim == 2:
            group = base[2:]
            names = [group, f"{group}__term"]
        else:
            names = [f"{base}_dim_{k}" for k in range(ndim)]
        out[base] = arr
        dims[base] = names
        for name, values in zip(names, axes, strict=True):
            coords[name] = ([int(v) for v in values] if all(v.isdigit() for v in values)
                            and not base.startswith("r_") else list(values))
    return out, dims, coords


def _re_formula(re_formula: Any) -> str | None:
    """The ``re_formula`` of brms as text for R: None (all terms), ``"NA"`` (none) or a formula."""
    if re_formula is None:
        return None
    if isinstance(re_formula, float) and math.isnan(re_formula):
        return "NA"
    if not isinstance(re_formula, str):
        raise PybrmsError(f"re_formula must be None, 'NA' or a formula text, got {re_formula!r}")
    text = re_formula.strip()
    if text in ("NA", "~0", "~ 0"):
        return "NA"
    if "~" not in text:
        raise PybrmsError(f"re_formula must be None, 'NA' or a formula such as '~ (1 | g)', "
                          f"got {re_formula!r}")
    return text


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise PybrmsError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _probs(probs: Sequence[float]) -> list[float]:
    out = [float(p) for p in probs]
    if not out or any(not 0 <= p <= 1 for p in out):
        raise PybrmsError(f"probs must be probabilities in [0, 1], got {list(probs)}")
    return out


def load(path: str | os.PathLike) -> BrmsFit:
    """Load a fit written by :meth:`BrmsFit.save` (or any brmsfit ``.rds`` from R)."""
    path = Path(path)
    if not path.exists():
        raise PybrmsError(f"no saved fit at {path}")
    meta = path.with_suffix(".json")
    prov = json.loads(meta.read_text()) if meta.exists() else {"source": str(path)}
    return BrmsFit(bridge.call("pybrms_read_rds", str(path)), provenance=prov)


def loo_compare(*fits: BrmsFit, names: Sequence[str] | None = None) -> pd.DataFrame:
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
