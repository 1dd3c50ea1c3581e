"""A brmsfit's summaries and draws: ``fixef``, ``ranef``, ``summary``, ``draws``, the model's
code, data and priors (brms's ``summary.R``, ``fixef.R``, ``ranef.R``, ``prior_summary``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from .held import HeldFit

_META = (".chain", ".iteration", ".draw")

class SummaryMethods(HeldFit):
    """Summaries, draws and the model's code, data and priors."""

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

    def _sampler_counts(self) -> tuple[int, int, int]:
        """Divergences and tree-depth hits after warm-up (rstan's sampler parameters) and
        the fit's tree-depth limit.
        """
        sp = self.sampler_params()
        limit = int(bridge.to_py(bridge.call("pybrms_max_treedepth", self._r)))
        return int(sp["divergent__"].sum()), int((sp["treedepth__"] >= limit).sum()), limit

    @property
    def ndraws(self) -> int:
        """Number of post-warm-up draws over all chains (``brms::ndraws``)."""
        if "ndraws" not in self._cache:
            self._cache["ndraws"] = int(bridge.to_py(bridge.call("pybrms_ndraws", self._r)))
        return self._cache["ndraws"]

    def response(self) -> tuple[str | list[str], np.ndarray]:
        """The response's name and values as brms holds them (``brms::get_y``).

        A multivariate model gives the response variables' names (``["Sepal.Length",
        "Petal.Length"]``) and an observations x responses array; its brms response names
        (``SepalLength``) are :attr:`responses`. Categorical and ordinal responses are
        brms's category numbers 1, 2, ...
        """
        info = self._response_info()
        return info["name"], info["y"]

    @property
    def responses(self) -> list[str]:
        """The response names brms gives a multivariate model (``[]`` for one response)."""
        return list(self._response_info()["resp"])

    def _response_info(self) -> dict[str, Any]:
        if "response" not in self._cache:
            r = bridge.call("pybrms_response", self._r)
            resp = [str(v) for v in bridge.to_py_list(r.rx2("resp"))]
            names = [str(v) for v in bridge.to_py_list(r.rx2("name"))]
            y = (bridge.r_matrix(r.rx2("y")) if resp
                 else np.atleast_1d(np.asarray(bridge.to_py(r.rx2("y")), dtype=float)))
            self._cache["response"] = {"name": names if resp else names[0], "y": y,
                                       "resp": resp}
        info = self._cache["response"]
        return {**info, "y": info["y"].copy()}

    def prior_summary(self, all: bool = True) -> pd.DataFrame:  # noqa: A002 - brms's name
        """``brms::prior_summary``: the priors the model used, with brms's columns
        (``prior``, ``class``, ``coef``, ``group``, ``resp``, ``dpar``, ``nlpar``, ``lb``,
        ``ub``, ``source``); ``all=False`` keeps only the priors set by the user.
        """
        return bridge.to_pandas(bridge.call("pybrms_prior_summary", self._r, bool(all)))



def _group_of(variable: str) -> str:
    """The grouping factor of ``sd_g__x``/``cor_g__x__y``; ``Residual`` for ``sigma``."""
    if variable.startswith(("sd_", "cor_")):
        return variable.split("_", 1)[1].split("__", 1)[0]
    return "Residual" if variable == "sigma" else ""
