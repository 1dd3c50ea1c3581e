"""Predictions from the posterior (brms's ``posterior_predict.R``, ``posterior_epred.R``,
``posterior_linpred``, ``log_lik.R``, ``predict``/``fitted``), all through one argument object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import PybrmsError
from .args import PredictArgs, check_probs
from .held import HeldFit


class PredictMethods(HeldFit):
    """``posterior_predict``, ``posterior_epred``, ``posterior_linpred``, ``log_lik``,
    ``predict`` and ``fitted``.
    """

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
        return self._draws_matrix("posterior_predict", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed))

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
        return self._draws_matrix("posterior_epred", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed))

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
        return self._draws_matrix("posterior_linpred", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed),
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
        return self._draws_matrix("log_lik", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed))

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
            quantile column per ``probs`` (``Q2.5``, ``Q97.5``), one row per observation.
            A multivariate model, whose brms summary is an observations x statistics x
            responses array, gives one long frame: a block of rows per response in brms's
            order, with columns ``resp`` (brms's response name, e.g. ``SepalLength``) and
            ``obs`` (the data row, counted from 0) before the statistics. For categorical
            and ordinal families brms's table of predicted category probabilities, one
            column per category (``P(Y = 1)``...), as R prints it. With ``summary=False``
            the draws x observations (x responses) array (:meth:`posterior_predict`).

        """
        return self._pred_summary("predict", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed), summary,
                                  probs, robust)

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

        Where brms returns an observations x statistics x responses (categories) array — a
        multivariate model, or the category probabilities of a categorical or ordinal
        family — the summary is one long frame: a block per response (category) in brms's
        order, with a ``resp`` column (brms's response names) or a ``category`` column
        (brms's category, ``"1"`` for its ``P(Y = 1)``) and ``obs`` (the data row, from 0)
        before ``Estimate``, ``Est.Error`` and the quantiles. ``summary=False`` gives brms's
        draws x observations (x categories or responses) array.
        """
        if scale not in ("response", "linear"):
            raise PybrmsError(f"scale must be 'response' or 'linear', got {scale!r}")
        return self._pred_summary("fitted", PredictArgs(newdata, re_formula, ndraws, draw_ids, allow_new_levels,
                                  sample_new_levels, seed), summary,
                                  probs, robust, scale=scale)

    def _draws_matrix(self, method: str, args: PredictArgs, **extra: Any) -> np.ndarray:
        out = bridge.call("pybrms_draws_matrix", self._r, method,
                          args.for_r(self.ndraws, **extra),
                          re_formula=args.r_re_formula, seed=args.r_seed)
        return bridge.r_matrix(out)

    def _pred_summary(self, method: str, args: PredictArgs, summary: bool,
                      probs: Sequence[float], robust: bool,
                      **extra: Any) -> pd.DataFrame | np.ndarray:
        r_args = args.for_r(self.ndraws, summary=bool(summary), probs=check_probs(probs),
                            robust=bool(robust), **extra)
        out = bridge.call("pybrms_pred_summary", self._r, method, r_args,
                          re_formula=args.r_re_formula, seed=args.r_seed)
        return bridge.to_pandas(out) if summary else bridge.r_matrix(out)
