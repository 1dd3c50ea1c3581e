"""The fast engine: brms's model and brms's priors, sampled by nutpie through PyMC.

For grids, coverage studies and simulation-based calibration, where exact brms (rstan on
brms's Stan program) costs tens of minutes per model. The model is brms's own:

1. **from brms** (R, no Stan compile): ``validate_prior()`` gives the full prior table,
   brms's data-dependent defaults (``student_t(3, median(y), mad(y))`` on the Intercept...)
   merged with the user's priors; ``make_standata()`` gives the population-level design and,
   for every group-level term, an integer level index per row and the term's covariates
   (``(1 | a/b)`` is the two factors ``a`` and ``a:b``); nothing row-by-level is built;
2. **in PyMC** (:mod:`pybrms.engines.fast_model`): brms's Stan program re-written: centred
   design with the Intercept prior on the centred intercept, non-centred group-level effects,
   LKJ Cholesky factors for correlated effects, each prior as the density brms adds;
3. **sampled** by nutpie (PyMC's numba backend; no network at run time);
4. **reported** with brms's names (``b_x``, ``sd_g__Intercept``, ``cor_g__Intercept__x``,
   ``sigma``), the shared tidy schema and an ArviZ ``InferenceData``.

It is not brms: the draws are another sampler's, so numbers agree with brms's within Monte
Carlo error, not bit for bit (``capabilities.exact`` is False). :func:`pybrms.verify`
measures that agreement on a pilot run. :func:`check` refuses, before R or data are
touched, every formula, family or prior it cannot express, naming the term.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import EngineError
from ..results import PosteriorFitResult, make_provenance, order_ran_pars
from ..spec.formula import brms_only_calls
from ..spec.model import FitSpec
from . import fast_model, fast_priors
from .base import Capabilities, EngineOptions

NAME = "fast"
name = NAME
#: how the fast engine estimates (the ``method`` of its tidy rows)
METHOD = "NUTS (nutpie on brms's model and priors in PyMC)"
#: ``compiles`` is False: nutpie compiles per fit, but pybrms's Stan compile cache does not apply
capabilities = Capabilities(bayesian=True, hypotheses=True, draws=True, sampler=True,
                            uses_priors=True)

#: brms's ``(1 | ID | g)``: a correlation ID shared between group-level terms
_ID_TERM = re.compile(r"\([^()|]*\|\s*[^()|\s][^()|]*\|[^()|]*\)")


def check(spec: FitSpec) -> None:
    """Raise :class:`~pybrms.errors.EngineError` if the fast engine cannot fit ``spec``.

    Pure Python: no R, no data needed (a :meth:`FitSpec.without_data` spec works).

    Raises
    ------
    EngineError
        Naming the family or link, addition term, formula term or prior; or saying that
        pymc/nutpie are not installed.
    """
    parsed, fam = spec.formula, spec.family
    missing = [m for m in ("pymc", "nutpie") if importlib.util.find_spec(m) is None]
    if missing:
        raise EngineError(
            f"engine fast needs {' and '.join(missing)}: pip install 'pybrms[fast]'"
        )
    if not getattr(parsed, "is_plain", True):
        raise EngineError(
            f"engine fast cannot express {parsed.text!r}: brms's model language (bf(), lf(), "
            "nlf(), mvbind(): distributional, non-linear and multivariate models) is brms-only"
        )
    if fam.name not in fast_model.LINKS:
        raise EngineError(
            f"engine fast cannot fit family {fam.name!r}; it fits "
            f"{', '.join(fast_model.LINKS)}"
        )
    links = fast_model.LINKS[fam.name]
    if fam.link not in links:
        raise EngineError(
            f"engine fast fits family {fam.name!r} with link {' or '.join(map(repr, links))}, "
            f"not {fam.link!r}"
        )
    extra = sorted(set(parsed.addition) - {"trials"})
    if extra:
        raise EngineError(
            f"engine fast cannot express the addition term(s) "
            f"{', '.join(f'{k}({parsed.addition[k]})' for k in extra)} in {parsed.text!r}"
        )
    if parsed.is_cbind:
        raise EngineError(
            f"engine fast cannot read the response {parsed.response!r}; write brms's "
            "'successes | trials(n)'"
        )
    if fam.name == "binomial" and "trials" not in parsed.addition:
        raise EngineError(f"family binomial needs 'y | trials(n)'; got {parsed.text!r}")
    if fam.name != "binomial" and "trials" in parsed.addition:
        raise EngineError(f"addition term trials(...) needs family binomial, not {fam.name!r}")
    for term in parsed.fixed:
        calls = brms_only_calls(term)
        if calls:
            raise EngineError(
                f"engine fast cannot express the term {term!r} ({calls[0]}() is brms-only)"
            )
    rhs = parsed.text.split("~", 1)[1]
    m = _ID_TERM.search(rhs)
    if m:
        raise EngineError(
            f"engine fast cannot express the group-level term {m.group(0)!r}: correlation "
            "IDs '(lhs | ID | group)' are brms-only"
        )
    for g in parsed.groups:
        text = g.text or f"({g.lhs} | {g.group})"
        if "gr(" in text.replace(" ", ""):
            raise EngineError(f"engine fast cannot express the grouping gr(...) in {text!r}")
        calls = brms_only_calls(g.lhs)
        if calls:
            raise EngineError(
                f"engine fast cannot express the group-level term {text!r} "
                f"({calls[0]}() is brms-only)"
            )
    fast_priors.check_priors(spec.priors)


@dataclass(frozen=True)
class FastOptions(EngineOptions):
    """Options of the fast engine (brms's names where brms has them).

    Attributes
    ----------
    chains, iter, warmup, seed
        As in ``brm()``: ``iter`` counts warm-up, ``warmup`` defaults to ``iter // 2``,
        ``seed`` to a random integer recorded in the provenance.
    cores : int, optional
        Chains run at once (nutpie's threads; default ``min(chains, CPUs)``).
    target_accept : float
        Step-size adaptation target (brms's ``adapt_delta``, default 0.8).
    max_treedepth : int
        Maximum tree depth (brms's default 10).
    mass_matrix : {"diag", "low_rank"}
        nutpie's mass-matrix adaptation: diagonal (default, like Stan's) or its low-rank
        modified one (``low_rank_modified_mass_matrix``), which adapts to posterior
        correlations such as those of the slopes.
    centre : {"auto", "never"}
        Group-level blocks sampled centred (``r ~ normal(0, sd)``) rather than brms's
        non-centred ``r = sd * z``: ``"auto"`` does so for uncorrelated blocks whose every
        level has ``fast_model.CENTRED_MIN_ROWS`` (100) rows or more, where the non-centred
        form mixes slowly; ``"never"`` keeps brms's form. Same posterior either way.
    keep_ranef : bool
        Keep the group-level effects ``r_<group>`` (levels x effects per draw) in the
        InferenceData.
    diagnose : bool
        Warn about divergences, tree-depth hits, Rhat > 1.01 and low ESS after the fit.
    quiet : bool
        No progress output (warnings are still recorded and emitted).
    """

    engine: ClassVar[str] = NAME

    chains: int = 4
    iter: int = 2000  # noqa: A003 - brms's name
    warmup: int | None = None
    seed: int | None = None
    cores: int | None = None
    target_accept: float = 0.8
    max_treedepth: int = 10
    mass_matrix: str = "diag"
    centre: str = "auto"
    keep_ranef: bool = True
    diagnose: bool = True

    def validate(self) -> None:
        """Check counts, warm-up, ``target_accept`` and ``max_treedepth``."""
        super().validate()
        for key in ("chains", "iter", "max_treedepth"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise EngineError(f"engine fast: {key} must be a positive integer, got {v!r}")
        c = self.cores
        if c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 1):
            raise EngineError(f"engine fast: cores must be a positive integer, got {c!r}")
        w = self.warmup
        if w is not None and (not isinstance(w, int) or isinstance(w, bool)
                              or not 0 <= w < self.iter):
            raise EngineError(
                f"engine fast: warmup must be an integer with 0 <= warmup < iter ({self.iter}), "
                f"got {w!r}"
            )
        if self.mass_matrix not in ("diag", "low_rank"):
            raise EngineError(
                f"engine fast: mass_matrix must be 'diag' or 'low_rank', got {self.mass_matrix!r}"
            )
        if self.centre not in ("auto", "never"):
            raise EngineError(
                f"engine fast: centre must be 'auto' or 'never', got {self.centre!r}"
            )
        if not isinstance(self.target_accept, (int, float)) or not 0 < self.target_accept < 1:
            raise EngineError(
                f"engine fast: target_accept must be in (0, 1), got {self.target_accept!r}"
            )


options = FastOptions


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"pybrms: {msg}", file=sys.stderr, flush=True)


def brms_inputs(spec: FitSpec) -> fast_model.ModelData:
    """Ask brms (through the bridge; no Stan compile) for the prior table and Stan data.

    brms builds the model first (:func:`pybrms.engines.brms_build.build`, ``brm(..., empty =
    TRUE)``), so a model brms refuses fails here as it would for the brms engine.

    Returns
    -------
    ModelData

    Raises
    ------
    SpecError
        With brms's message, when brms refuses the model.
    """
    from .. import bridge
    from .brms_build import build

    fam = spec.family
    out = bridge.call("pybrms_fast_inputs", build(spec, {}))
    parts = dict(zip(out.names, out, strict=True))
    sd_r = parts["standata"]
    standata: dict[str, Any] = {}
    for key, value in zip(sd_r.names, sd_r, strict=True):
        if key == "X":
            standata[key] = bridge.r_matrix(value)
        elif key == "X_colnames":
            standata[key] = bridge.to_py_list(value)
        else:
            v = bridge.to_py(value)
            standata[key] = np.asarray(v) if isinstance(v, list) else v
    ranef = bridge.to_pandas(parts["ranef"])
    levels = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
              for k, v in (bridge.to_py(parts["levels"]) or {}).items()}
    prior = bridge.to_pandas(parts["prior"])
    return fast_model.from_standata(standata, ranef, levels, prior, fam)


def sample(md: fast_model.ModelData, opts: FastOptions, seed: int) -> tuple[Any, dict]:
    """Build the PyMC model, compile it with nutpie and sample.

    Returns
    -------
    (InferenceData, dict)
        nutpie's trace and the timings ``{"compile": s, "sample": s}``.
    """
    try:
        import nutpie
        import pymc  # noqa: F401
    except ImportError as exc:
        raise EngineError(
            f"engine fast needs pymc and nutpie ({exc}); install them with "
            "pip install 'pybrms[fast]'"
        ) from exc

    model = fast_model.build_model(md, centre=opts.centre)
    t0 = time.perf_counter()
    free = [v.name for v in model.free_RVs]
    start = fast_model.initial_points(md)
    compiled = nutpie.compile_pymc_model(
        model, backend="numba", var_names=free, initial_points=start,
        jitter_rvs={v for v in model.free_RVs if v.name not in start})
    compile_s = time.perf_counter() - t0
    warmup = opts.iter // 2 if opts.warmup is None else opts.warmup
    t0 = time.perf_counter()
    trace = nutpie.sample(
        compiled, draws=opts.iter - warmup, tune=warmup, chains=opts.chains, cores=opts.cores,
        seed=seed, progress_bar=not opts.quiet, save_warmup=False,
        target_accept=float(opts.target_accept), maxdepth=int(opts.max_treedepth),
        low_rank_modified_mass_matrix=opts.mass_matrix == "low_rank",
    )
    return trace, {"compile": round(compile_s, 3), "sample": round(time.perf_counter() - t0, 3)}


def fit(spec: FitSpec, opts: FastOptions | None = None) -> FastFit:
    """Fit ``spec`` with the fast engine.

    Parameters
    ----------
    spec : FitSpec
        The validated model.
    opts : FastOptions, optional
        Sampling options (defaults: brms's 4 chains x 2000 iterations).

    Returns
    -------
    FastFit

    Raises
    ------
    EngineError
        For a formula, family or prior the engine cannot express (before R is started).
    SpecError
        If brms refuses the model or data (it builds the priors and Stan data).
    """
    opts = opts if opts is not None else FastOptions()
    check(spec)
    t_start = time.perf_counter()
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 2**31 - 1)
    _say("building brms's priors and Stan data (no Stan compile)", opts.quiet)
    t0 = time.perf_counter()
    md = brms_inputs(spec)
    fast_priors.check_table(md.prior)
    build_s = time.perf_counter() - t0
    _say(f"compiling the PyMC model with nutpie; sampling {opts.chains} chain(s)", opts.quiet)
    trace, timing = sample(md, opts, seed)
    result = FastFit.from_trace(md, trace, spec=spec, opts=opts, seed=seed,
                                timing={"build": round(build_s, 3), **timing,
                                        "total": round(time.perf_counter() - t_start, 3)})
    if opts.diagnose:
        result.warn_diagnostics()
    return result


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

    def __init__(self, model_data: fast_model.ModelData, posterior: dict[str, np.ndarray],
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
    def from_trace(cls, md: fast_model.ModelData, trace: Any, *, spec: FitSpec,
                   opts: FastOptions, seed: int, timing: dict[str, float]) -> FastFit:
        """Wrap nutpie's trace: brms's names and the shared provenance."""
        post = {k: np.asarray(v.values) for k, v in trace.posterior.data_vars.items()}
        draws = fast_model.brms_draws(md, post, keep_ranef=opts.keep_ranef)
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
        return cls(md, draws, stats, prov)

    @property
    def variables(self) -> list[str]:
        """The scalar parameters, brms's names and order (``b_``, ``sd_``, ``cor_``, ``sigma``)."""
        names = [k for k, v in self.posterior.items() if v.ndim == 2 and k != "Intercept"]
        return fast_model.brms_order(names, self.model_data)

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
        from ..spec.hypotheses import check_terms, parse_hypothesis

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
