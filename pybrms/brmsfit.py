"""``BrmsFit``: a fitted brms model held in R, with brms's own numbers brought to Python."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import bridge
from .atomic import atomic_path, atomic_write_text
from .errors import ConvergenceWarning, PybrmsError
from .results import FitResult
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


class BrmsFit(FitResult):
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

    @property
    def warnings(self) -> list[str]:  # type: ignore[override]
        """R's warnings during the fit and the convergence problems found after it."""
        return list(self.provenance["warnings"])

    @property
    def bayesian(self) -> bool:
        """Always True: the numbers summarise posterior draws."""
        return True

    @property
    def converged(self) -> bool:
        """False if the diagnostics found divergences, tree-depth hits, high Rhat or low ESS."""
        d = self.provenance.get("details", {}).get("diagnostics")
        return bool(d["ok"]) if d else True

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

    def to_arviz(self, log_likelihood: bool = False) -> Any:
        """An ArviZ ``InferenceData`` with brms parameter names and chain/draw dimensions.

        ``posterior`` holds every parameter (``lp__`` goes to sample_stats as ``lp``);
        ``sample_stats`` holds acceptance_rate, step_size, tree_depth, n_steps, diverging,
        energy and lp; ``log_likelihood`` (optional) holds ``y`` with an ``obs`` dimension.
        """
        import arviz as az

        d = self.draws()
        chains = sorted(d[".chain"].unique())
        n_draw = int((d[".chain"] == chains[0]).sum())

        def by_chain(values: np.ndarray) -> np.ndarray:
            return values.reshape(len(chains), n_draw, *values.shape[1:])

        d = d.sort_values([".chain", ".iteration"])
        params = [c for c in d.columns if c not in _META and c != "lp__"]
        posterior = {p: by_chain(d[p].to_numpy()) for p in params}
        sp = self.sampler_params().sort_values([".chain", ".iteration"])
        stats = {
            new: by_chain(sp[old].to_numpy().astype(bool if new == "diverging" else float))
            for old, new in _SAMPLE_STATS.items()
            if old in sp.columns
        }
        stats["lp"] = by_chain(d["lp__"].to_numpy())
        groups: dict[str, Any] = {"posterior": posterior, "sample_stats": stats}
        if log_likelihood:
            ll = bridge.r_matrix(bridge.call("pybrms_log_lik", self._r))
            groups["log_likelihood"] = {"y": by_chain(ll)}
        idata = az.from_dict(
            **groups,
            dims={"y": ["obs"]} if log_likelihood else None,
            attrs={
                "engine": "brms",
                **{f"version_{k}": v for k, v in self.provenance.get("versions", {}).items()},
            },
        )
        return idata

    # ----- diagnostics -----------------------------------------------------------------
    def diagnostics(self, rhat_max: float = 1.01, min_ess: float = 400.0) -> dict[str, Any]:
        """Sampler and convergence diagnostics.

        Returns
        -------
        dict
            ``divergences`` (post-warm-up count), ``max_treedepth`` (the limit),
            ``treedepth_hits``, ``rhat_max``, ``high_rhat`` (parameters with Rhat >
            ``rhat_max``), ``low_ess`` (parameters with bulk or tail ESS < ``min_ess``),
            ``ok`` (no problem at all).

        """
        sp = self.sampler_params()
        limit = int(bridge.to_py(bridge.call("pybrms_max_treedepth", self._r)))
        s = self.summary()
        s = s[s["variable"] != "lp__"]
        high = s.loc[s["rhat"] > rhat_max, "variable"].tolist()
        low = s.loc[(s["ess_bulk"] < min_ess) | (s["ess_tail"] < min_ess), "variable"].tolist()
        out = {
            "divergences": int(sp["divergent__"].sum()),
            "max_treedepth": limit,
            "treedepth_hits": int((sp["treedepth__"] >= limit).sum()),
            "rhat_max": float(np.nanmax(s["rhat"])) if len(s) else float("nan"),
            "high_rhat": high,
            "low_ess": low,
        }
        out["ok"] = not (out["divergences"] or out["treedepth_hits"] or high or low)
        return out

    def warn_diagnostics(self) -> dict[str, Any]:
        """Compute :meth:`diagnostics`, record each problem on :attr:`warnings` and emit it
        as a :class:`~pybrms.errors.ConvergenceWarning`.
        """
        d = self.diagnostics()
        for problem in diagnostic_messages(d):
            warnings.warn(problem, ConvergenceWarning, stacklevel=3)
        self.provenance.setdefault("details", {})["diagnostics"] = {
            k: v for k, v in d.items() if k not in ("high_rhat", "low_ess")
        }
        for problem in diagnostic_messages(d):
            if problem not in self.provenance["warnings"]:
                self.provenance["warnings"].append(problem)
        return d

    # ----- model comparison ------------------------------------------------------------
    def loo(self) -> dict[str, Any]:
        """PSIS-LOO (``brms::loo``).

        Returns ``estimates`` (elpd_loo, p_loo, looic with SE), ``pareto_k`` and
        ``pointwise_elpd`` (one value per observation, for comparisons across sessions).
        """
        if "loo" not in self._cache:
            self._cache["loo_r"] = bridge.call("pybrms_loo", self._r)
            table = bridge.to_py(bridge.call("pybrms_loo_table", self._cache["loo_r"]))
            table["pareto_k"] = np.asarray(table["pareto_k"], dtype=float)
            table["pointwise_elpd"] = np.asarray(table["pointwise_elpd"], dtype=float)
            self._cache["loo"] = table
        return self._cache["loo"]

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


def diagnostic_messages(d: dict[str, Any]) -> list[str]:
    """One message per problem in :meth:`BrmsFit.diagnostics` output (empty when all is well)."""
    out = []
    if d["divergences"]:
        out.append(f"{d['divergences']} divergent transition(s) after warm-up; "
                   "consider control={'adapt_delta': 0.95}")
    if d["treedepth_hits"]:
        out.append(f"{d['treedepth_hits']} transition(s) hit the maximum tree depth "
                   f"{d['max_treedepth']}")
    if d["high_rhat"]:
        out.append(f"Rhat > 1.01 for {len(d['high_rhat'])} parameter(s), e.g. "
                   f"{', '.join(d['high_rhat'][:5])}")
    if d["low_ess"]:
        out.append(f"bulk or tail ESS < 400 for {len(d['low_ess'])} parameter(s), e.g. "
                   f"{', '.join(d['low_ess'][:5])}")
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
