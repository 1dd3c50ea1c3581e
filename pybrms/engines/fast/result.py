"""``FastFit``: a fit by the fast engine, reported with brms's names and the shared schema."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...errors import EngineError
from ...results import PosteriorFitResult, make_provenance, order_ran_pars
from ...spec.hypotheses import check_terms, parse_hypothesis
from ...spec.model import FitSpec
from . import draws, model
from .options import NAME, FastOptions

#: how the fast engine estimates (the ``method`` of its tidy rows)
METHOD = "NUTS (nutpie on brms's model and priors in PyMC)"


def _evaluate(side: str, terms: Sequence[str], env: dict[str, np.ndarray]) -> np.ndarray:
    """One side of a hypothesis on the draws: coefficient names (``x``, ``youngerTRUE:TOX``)
    become their draws, R's ``^`` is ``**``; arithmetic and exp/log/sqrt/abs only.
    """
    expr = side
    for i in sorted(range(len(terms)), key=lambda k: -len(terms[k])):
        expr = re.sub(rf"(?<![A-Za-z0-9_.:]){re.escape(terms[i])}(?![A-Za-z0-9_.:])",
                      f"__t{i}", expr)
    expr = expr.replace("^", "**")
    funcs = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}
    try:
        value = eval(expr, {"__builtins__": {}}, {**funcs, **env})  # noqa: S307 - user's own
    except Exception as exc:
        raise EngineError(f"fast fit: cannot evaluate the hypothesis side {side!r}") from exc
    n = len(next(iter(env.values()))) if env else 1
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def _num(value: Any) -> float:
    """ArviZ's diagnostic of one parameter as a float (it returns 0-d or 1-element arrays)."""
    return float(np.ravel(np.asarray(value))[0])


def _versions() -> dict[str, str]:
    import numba
    import nutpie
    import pymc
    import pytensor

    return {"pymc": pymc.__version__, "pytensor": pytensor.__version__,
            "nutpie": nutpie.__version__, "numba": numba.__version__}


class FastFit(PosteriorFitResult):
    """A fit by the fast engine: brms's model sampled by nutpie.

    Attributes
    ----------
    model_data : ModelData
        The model as brms prepared it (design, group-level indices, prior table).
    prior : DataFrame
        brms's prior table the model used (``validate_prior``: columns ``prior, class, coef,
        group, resp, dpar, nlpar, lb, ub, source``).
    posterior : dict
        brms-named draws, each ``(chain, draw, ...)``.
    sample_stats : dict
        nutpie's per-draw statistics (``diverging``, ``depth``, ``step_size``...).
    provenance : dict
        The shared layout; ``details`` holds the prior table, sampler settings and
        diagnostics.
    """

    _warning_prefix = "fast: "

    engine = NAME

    def __init__(self, model_data: model.ModelData, posterior: dict[str, np.ndarray],
                 sample_stats: dict[str, np.ndarray], provenance: dict) -> None:
        self.model_data = model_data
        self.prior = model_data.prior
        self.posterior = posterior
        self.sample_stats = sample_stats
        self.provenance = provenance
        self.provenance.setdefault("warnings", [])
        self.method = METHOD
        self._summary: pd.DataFrame | None = None

    @classmethod
    def from_trace(cls, md: model.ModelData, trace: Any, *, spec: FitSpec,
                   opts: FastOptions, seed: int, timing: dict[str, float]) -> FastFit:
        """Wrap nutpie's trace: brms's names and the shared provenance."""
        post = {k: np.asarray(v.values) for k, v in trace.posterior.data_vars.items()}
        brms_named = draws.brms_draws(md, post, keep_ranef=opts.keep_ranef)
        stats = {k: np.asarray(v.values) for k, v in trace.sample_stats.data_vars.items()
                 if np.asarray(v.values).ndim == 2}
        warmup = opts.iter // 2 if opts.warmup is None else opts.warmup
        prov = make_provenance(
            engine=NAME, method=METHOD, versions=_versions(), spec=spec,
            options=opts.record() | {"warmup": warmup}, seed=seed, timing_seconds=timing,
            details={
                "prior_table": md.prior.to_dict(orient="records"),
                "centred_intercept": md.centred,
                "groups": {g.group: {"levels": g.n_levels, "effects": list(g.coefs),
                                     "correlated": g.correlated} for g in md.groups},
                "model_bytes": md.nbytes(),
            },
        )
        return cls(md, brms_named, stats, prov)

    @property
    def variables(self) -> list[str]:
        """The scalar parameters, brms's names and order (``b_``, ``sd_``, ``cor_``, ``sigma``)."""
        names = [k for k, v in self.posterior.items() if v.ndim == 2 and k != "Intercept"]
        return draws.brms_order(names, self.model_data)

    def draws(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Posterior draws of the scalar parameters with ``.chain``, ``.iteration``, ``.draw``."""
        names = self.variables if variables is None else list(variables)
        missing = [v for v in names if v not in self.posterior]
        if missing:
            raise EngineError(f"fast fit has no parameter(s) {missing}; it has {self.variables}")
        first = self.posterior[names[0]] if names else next(iter(self.posterior.values()))
        n_chain, n_draw = first.shape[:2]
        df = pd.DataFrame({v: self.posterior[v].reshape(-1) for v in names})
        df[".chain"] = np.repeat(np.arange(1, n_chain + 1), n_draw)
        df[".iteration"] = np.tile(np.arange(1, n_draw + 1), n_chain)
        df[".draw"] = np.arange(1, n_chain * n_draw + 1)
        return df

    def to_arviz(self) -> Any:
        """An ArviZ ``InferenceData``: brms-named posterior (``r_<group>`` with level and
        effect dims) and nutpie's sample statistics.
        """
        import arviz as az

        dims: dict[str, list[str]] = {}
        coords: dict[str, list[str]] = {}
        for g in self.model_data.groups:
            key = f"r_{g.group}"
            if key in self.posterior:
                dims[key] = [f"{g.group}_level", f"{g.group}_effect"]
                coords[f"{g.group}_level"] = list(g.levels)
                coords[f"{g.group}_effect"] = list(g.coefs)
        return az.from_dict(posterior=self.posterior, sample_stats=self.sample_stats,
                            dims=dims, coords=coords, attrs={"engine": NAME})

    def summary(self, probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
        """Every scalar parameter: mean, sd, quantiles, Rhat, bulk/tail ESS and the MCSE of
        the mean (ArviZ's rank-normalised diagnostics, as the ``posterior`` package computes).
        """
        import arviz as az

        rows = []
        for v in self.variables:
            x = self.posterior[v]
            q = np.quantile(x, probs)
            rows.append({
                "variable": v, "mean": float(x.mean()), "sd": float(x.std(ddof=1)),
                **{f"q{100 * p:g}": float(val) for p, val in zip(probs, q, strict=True)},
                "rhat": _num(az.rhat(x)), "ess_bulk": _num(az.ess(x, method="bulk")),
                "ess_tail": _num(az.ess(x, method="tail")),
                "mcse_mean": _num(az.mcse(x, method="mean")),
            })
        return pd.DataFrame(rows)

    def _sampler_counts(self) -> tuple[int, int, int]:
        """Divergences and tree-depth hits after warm-up (nutpie's sampler statistics) and
        the tree-depth limit.
        """
        depth = self.sample_stats.get("depth")
        limit = int(self.provenance["options"].get("max_treedepth", 10))
        div = self.sample_stats.get("diverging")
        return (int(np.sum(div)) if div is not None else 0,
                int(np.sum(depth >= limit)) if depth is not None else 0, limit)

    def hypothesis(self, hypotheses: str | Sequence[str], alpha: float = 0.05,
                   class_: str = "b", robust: bool = False) -> pd.DataFrame:
        """``brms::hypothesis()`` on the population-level effects, computed as brms does.

        Each hypothesis ``left op right`` is evaluated on the draws as ``left - right``:
        ``Estimate`` its mean (median with ``robust``), ``Est.Error`` its SD; one-sided
        hypotheses get brms's ``1 - 2 alpha`` interval (``CI.Upper = Inf`` for ``>``,
        ``CI.Lower = -Inf`` for ``<``), ``Post.Prob`` the share of draws on the hypothesis's
        side and ``Evid.Ratio = Post.Prob / (1 - Post.Prob)``; point hypotheses (``=``) a
        ``1 - alpha`` interval and no evidence ratio (brms needs prior draws for one).
        ``Star`` is ``*`` when the interval excludes 0.

        Raises
        ------
        SpecError
            For a malformed hypothesis or one naming a parameter the model does not have.
        EngineError
            For a class other than ``b``.
        """
        if class_ != "b":
            raise EngineError(f"fast fit: hypothesis() takes class 'b' only, not {class_!r}")
        if not 0 < alpha < 1:
            raise EngineError(f"alpha must be in (0, 1), got {alpha}")
        items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
        parsed = [parse_hypothesis(h) for h in items]
        terms = list(self.model_data.xnames)
        check_terms(parsed, terms)
        env = {f"__t{i}": self.posterior[f"b_{t}"].reshape(-1) for i, t in enumerate(terms)}
        rows = []
        for h in parsed:
            x = _evaluate(h.left, terms, env) - _evaluate(h.right, terms, env)
            est = float(np.median(x)) if robust else float(x.mean())
            err = float(np.median(np.abs(x - np.median(x))) * 1.4826) if robust \
                else float(x.std(ddof=1))
            if h.op == "=":
                lo, hi = (float(v) for v in np.quantile(x, [alpha / 2, 1 - alpha / 2]))
                er = pp = float("nan")
            elif h.op == ">":
                lo, hi = float(np.quantile(x, alpha)), float("inf")
                pp = float(np.mean(x > 0))
                er = pp / (1 - pp) if pp < 1 else float("inf")
            else:
                lo, hi = float("-inf"), float(np.quantile(x, 1 - alpha))
                pp = float(np.mean(x < 0))
                er = pp / (1 - pp) if pp < 1 else float("inf")
            right = "" if h.right.strip() in ("0", "0.0") else f"-({h.right})"
            rows.append({"Hypothesis": f"({h.left}){right} {h.op} 0", "Estimate": est,
                         "Est.Error": err, "CI.Lower": lo, "CI.Upper": hi, "Evid.Ratio": er,
                         "Post.Prob": pp, "Star": "*" if lo > 0 or hi < 0 else ""})
        return pd.DataFrame(rows)

    def _interval(self, v: str, conf_level: float) -> tuple[float, float]:
        lo, hi = (1 - conf_level) / 2, 1 - (1 - conf_level) / 2
        q = np.quantile(self.posterior[v], [lo, hi])
        return float(q[0]), float(q[1])

    def _fixed(self, conf_level: float) -> dict[str, Any]:
        """Posterior mean and SD of the population-level effects, equal-tailed interval."""
        names = [f"b_{c}" for c in self.model_data.xnames]
        ivs = [self._interval(v, conf_level) for v in names]
        return {
            "term": [v[2:] for v in names],
            "estimate": [float(self.posterior[v].mean()) for v in names],
            "std_error": [float(self.posterior[v].std(ddof=1)) for v in names],
            "conf_low": [i[0] for i in ivs],
            "conf_high": [i[1] for i in ivs],
            "conf_level": conf_level,
        }

    def _ran_pars(self, conf_level: float) -> list[dict[str, Any]]:
        """``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>`` and ``sigma``, as brms names them."""
        rows = []
        for v in self.variables:
            if not v.startswith(("sd_", "cor_")) and v != "sigma":
                continue
            group = "Residual" if v == "sigma" else v.split("_", 1)[1].split("__", 1)[0]
            lo, hi = self._interval(v, conf_level)
            x = self.posterior[v]
            rows.append({"term": v, "group": group, "estimate": float(x.mean()),
                         "std_error": float(x.std(ddof=1)), "conf_low": lo, "conf_high": hi,
                         "conf_level": conf_level})
        return order_ran_pars(rows)

    def __repr__(self) -> str:
        p = self.provenance
        return (f"<FastFit {p.get('formula', '?')!r} family={p.get('family', '?')} "
                f"seed={p.get('seed')}>")

