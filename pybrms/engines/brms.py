"""The brms engine: build the model in brms, compile once (cached), sample, wrap the result.

The pipeline follows brms's own stages, kept apart so invalid input never costs a compile:

1. **spec** (pure Python): formula, family, priors and data are validated here;
2. **build**: ``brm(..., empty = TRUE)`` lets brms validate and generate Stan code and data;
3. **compile**: the Stan code is looked up in :mod:`pybrms.cache`; only a miss compiles;
4. **sample**: ``brm(fit = x, ...)``, brms's own route for reusing a compiled program.
"""

from __future__ import annotations

import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .. import bridge
from ..brmsfit import BrmsFit
from ..cache import ModelCache, get_cache, program_key
from ..errors import SpecError
from ..results import make_provenance
from ..spec.families import Family
from ..spec.model import FitSpec, PriorInput
from ..spec.rcode import RExpr
from . import brms_build
from .base import Capabilities, EngineOptions

NAME = "brms"
name = NAME
#: how brms estimates (the ``method`` of its tidy rows)
METHOD = "NUTS (Stan, through brms and rstan)"
capabilities = Capabilities(
    bayesian=True, exact=True, hypotheses=True, draws=True, loo=True, sampler=True,
    compiles=True, saves_native=True, uses_priors=True,
)


@dataclass(frozen=True)
class BrmsOptions(EngineOptions):
    """Options of the brms engine, with ``brm()``'s names and meanings.

    Attributes
    ----------
    chains, iter, warmup, thin, seed, cores, control, init, sample_prior, normalize
        As in ``brm()``. ``warmup`` defaults to ``iter // 2``; ``seed`` to a random integer
        recorded in the provenance. ``sample_prior`` also takes brms's logicals.
    refresh : int, optional
        Progress line every ``refresh`` iterations (default ``max(iter // 10, 1)``).
    quiet : bool
        Hide compile and sampling progress (warnings are still recorded and emitted).
    cache : ModelCache, optional
        Compiled-program cache (default :func:`pybrms.cache.get_cache`).
    diagnose : bool
        Warn about divergences, tree-depth hits, Rhat > 1.01 and low ESS after the fit.
    echo : callable, optional
        Receives the sampler's console output as it arrives (default: stderr).
    save_pars : RExpr, optional
        ``pybrms.save_pars(all=True)`` (needed by ``bayes_factor``), as ``brm()``'s.
    stanvars : dict or RExpr, optional
        Data and Stan code added to the model: ``{"prior_sd": 10}`` becomes
        ``stanvar(10, name = "prior_sd")`` (a prior ``"normal(0, prior_sd)"`` then keeps one
        compiled program for every value); or ``pybrms.stanvar(...)`` / ``pybrms.R(...)``.
    data2, knots : dict, optional
        As ``brm()``'s (values: arrays, data frames, R expressions).
    brms_args : dict
        Any other ``brm()`` argument, passed through unchanged.
    """

    engine: ClassVar[str] = NAME

    chains: int = 4
    iter: int = 2000  # noqa: A003 - brms's name
    warmup: int | None = None
    thin: int = 1
    seed: int | None = None
    cores: int = 1
    control: dict | None = None
    sample_prior: str | bool = "no"
    init: Any = None
    normalize: bool = True
    refresh: int | None = None
    cache: ModelCache | None = None
    diagnose: bool = True
    echo: Callable[[str], None] | None = None
    save_pars: Any = None
    stanvars: Any = None
    data2: dict | None = None
    knots: dict | None = None
    brms_args: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Check counts, warm-up and ``sample_prior`` before anything starts."""
        super().validate()
        for key in ("chains", "iter", "thin", "cores"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpecError(f"{key} must be a positive integer, got {value!r}")
        w = self.warmup
        if w is not None and (not isinstance(w, int) or isinstance(w, bool)
                              or not 0 <= w < self.iter):
            raise SpecError(
                f"warmup must be an integer with 0 <= warmup < iter ({self.iter}), got {w!r}"
            )
        if self.sample_prior not in ("no", "yes", "only", True, False):
            raise SpecError(
                f"sample_prior must be 'no', 'yes', 'only', True or False, got {self.sample_prior!r}"
            )


options = BrmsOptions


def check(spec: FitSpec) -> None:
    """Brms expresses every formula pybrms parses; brms's build step judges the rest."""


def toolchain() -> dict[str, str]:
    """Everything besides the Stan code that changes a compiled binary (part of the cache key)."""
    return bridge.session().toolchain()


def _model_args(opts: BrmsOptions) -> dict[str, Any]:
    """The ``brm()`` arguments that shape the model (not the sampler), for build and sample."""
    args: dict[str, Any] = {"sample_prior": opts.sample_prior, "normalize": opts.normalize}
    for key in ("save_pars", "data2", "knots"):
        if getattr(opts, key) is not None:
            args[key] = getattr(opts, key)
    stanvars = brms_build.stanvars_expr(opts.stanvars)
    if stanvars is not None:
        args["stanvars"] = stanvars
    return {**args, **opts.brms_args}


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"pybrms: {msg}", file=sys.stderr, flush=True)


def compiled_model(stancode: str, cache: ModelCache, quiet: bool = False) -> tuple[Any, str, bool]:
    """Return ``(R stanmodel, key, compiled_now)`` for ``stancode``, compiling only on a miss.

    The cache given decides: a program counts as reused only when that cache holds it (its
    stored code compared character by character). A program already loaded in this process
    but missing from ``cache`` is written into it instead of being compiled again.
    """
    r = bridge.session()
    key = program_key(stancode, r.toolchain())
    path = cache.lookup(key, stancode)
    if path is not None:
        cache.record_hit()
        if key in r.programs:
            _say(f"reusing compiled Stan program {key[:12]} (loaded in this process)", quiet)
        else:
            r.programs[key] = bridge.call("pybrms_read_rds", str(path))
            _say(f"reusing compiled Stan program {key[:12]} from {cache.directory}", quiet)
        return r.programs[key], key, False
    if key in r.programs:
        model, seconds, compiled = r.programs[key], 0.0, False
        _say(f"storing Stan program {key[:12]} (loaded in this process) in {cache.directory}",
             quiet)
    else:
        _say(f"compiling Stan program {key[:12]} (about 70-90 s)...", quiet)
        t0 = time.perf_counter()
        model = bridge.call("pybrms_compile", stancode)
        seconds, compiled = time.perf_counter() - t0, True
    tmp = cache.tmp_path()
    try:
        bridge.call("pybrms_save_rds", model, str(tmp))
        cache.commit(key, tmp, stancode, r.toolchain(), seconds)
    finally:
        tmp.unlink(missing_ok=True)
    if compiled:
        _say(f"compiled in {seconds:.1f} s; cached as {key[:12]}", quiet)
    r.programs[key] = model
    return model, key, compiled


def fit(spec: FitSpec, opts: BrmsOptions | None = None) -> BrmsFit:
    """Fit ``spec`` with brms, exactly as ``brms::brm()`` would in R.

    Parameters
    ----------
    spec : FitSpec
        The validated model.
    opts : BrmsOptions, optional
        Sampling and run options (defaults: brms's).

    Returns
    -------
    BrmsFit

    Raises
    ------
    RError
        If brms or Stan fails; carries R's message.
    """
    opts = opts if opts is not None else BrmsOptions()
    t_start = time.perf_counter()
    quiet = opts.quiet
    warmup = opts.iter // 2 if opts.warmup is None else opts.warmup
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 2**31 - 1)
    cache = opts.cache if opts.cache is not None else get_cache()

    model_args = _model_args(opts)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        x = brms_build.build(spec, model_args)
        stancode = str(bridge.to_py(bridge.call("pybrms_stancode", x)))
        build_s = time.perf_counter() - t0

        model, key, compiled = compiled_model(stancode, cache, quiet)

        sampling: dict[str, Any] = {
            "chains": opts.chains,
            "iter": opts.iter,
            "warmup": warmup,
            "thin": opts.thin,
            "seed": seed,
            "cores": opts.cores,
            # quiet must silence rstan's worker processes too (with cores > 1 they print)
            "refresh": (0 if quiet else max(opts.iter // 10, 1)) if opts.refresh is None
            else opts.refresh,
            "open_progress": False,
            **model_args,
        }
        if opts.control is not None:
            sampling["control"] = opts.control
        if opts.init is not None:
            sampling["init"] = opts.init
        _say(f"sampling {opts.chains} chain(s) x {opts.iter - warmup} draws after {warmup} "
             "warm-up", quiet)
        t0 = time.perf_counter()
        live = (None if quiet else bridge.write_console) if opts.echo is None or quiet \
            else opts.echo
        rfit = bridge.call("pybrms_sample", x, model, sampling, echo=live,
                           children=opts.cores > 1)
        sample_s = time.perf_counter() - t0
    for w in record:
        text = " ".join(str(w.message).split())
        if text and text not in caught:
            caught.append(text)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    used = {k: v for k, v in sampling.items() if k not in ("open_progress", "seed")}
    prov = make_provenance(
        engine=NAME,
        method=METHOD,
        versions={k: v for k, v in toolchain().items() if k != "makevars"},
        spec=spec,
        options=used,
        seed=seed,
        timing_seconds={
            "build": round(build_s, 3),
            "sample": round(sample_s, 3),
            "total": round(time.perf_counter() - t_start, 3),
        },
        warnings=caught,
        details={"stan_program": key, "compiled": compiled},
    )
    result = BrmsFit(rfit, provenance=prov)
    if opts.diagnose:
        result.warn_diagnostics()
    return result


def brm(
    formula: str | RExpr,
    data: pd.DataFrame | str | os.PathLike,
    family: str | Family | RExpr = "gaussian",
    prior: PriorInput = None,
    *,
    chains: int = 4,
    iter: int = 2000,  # noqa: A002 - brms's name
    warmup: int | None = None,
    thin: int = 1,
    seed: int | None = None,
    cores: int = 1,
    control: dict | None = None,
    sample_prior: str | bool = "no",
    init: Any = None,
    normalize: bool = True,
    save_pars: Any = None,
    stanvars: Any = None,
    data2: dict | None = None,
    knots: dict | None = None,
    refresh: int | None = None,
    quiet: bool = False,
    cache: ModelCache | None = None,
    diagnose: bool = True,
    echo: Callable[[str], None] | None = None,
    read_args: dict | None = None,
    **brms_args: Any,
) -> BrmsFit:
    """Fit a brms model from Python, exactly as ``brms::brm()`` would in R.

    Parameters
    ----------
    formula : str or RExpr
        Any brms formula: ``"y ~ x + (1 | g)"``, ``"s | trials(n) ~ x"``, brms code such as
        ``"bf(y ~ s(x), sigma ~ s(x))"`` or ``"bf(mvbind(y1, y2) ~ x) + set_rescor(TRUE)"``, or
        the same built with :func:`pybrms.bf` / :func:`pybrms.lf` / :func:`pybrms.nlf`.
    data : DataFrame or path
        The data. A path is read by R itself, as the R script reads it: ``.csv`` with
        ``read.csv`` (its arguments in ``read_args``), ``.rds`` with ``readRDS``,
        ``.RData``/``.rda`` with ``load`` — so the doubles are R's, bit for bit.
    family : str, Family or RExpr
        Any brms family as R code: ``"bernoulli"``, ``"cumulative('probit')"``,
        ``"sratio(threshold = 'equidistant')"``, ``"zero_inflated_negbinomial()"``, or
        :func:`pybrms.family`. brms judges names and links.
    prior : Prior, R code, or a list of them, optional
        :func:`pybrms.prior` objects (``class_``, ``coef``, ``group``, ``resp``, ``dpar``,
        ``nlpar``, ``lb``, ``ub``) or R code such as ``"prior(normal(0, 5), class = b)"``.
        Explicit priors on every class make the Stan code independent of the data, so the
        compiled program is reused across datasets.
    chains, iter, warmup, thin, seed, cores, control, init, sample_prior, normalize
        As in ``brm()`` (see :class:`BrmsOptions`); ``sample_prior`` takes True/False too.
    save_pars, stanvars, data2, knots
        As in ``brm()`` (see :class:`BrmsOptions`); ``stanvars`` also takes a dict of numbers.
    refresh, quiet, cache, diagnose, echo
        See :class:`BrmsOptions`.
    read_args : dict, optional
        ``read.csv`` arguments when ``data`` is a CSV path (``{"sep": ";"}``).
    **brms_args
        Any other ``brm()`` argument with R's name and meaning (Python values or R
        expressions), passed through unchanged.

    Returns
    -------
    BrmsFit

    Raises
    ------
    SpecError, DataError
        For input Python can judge (columns, missing values, response type, options), raised
        before R starts; for everything brms judges (unknown family, ``dpar``, a prior on a
        coefficient that does not exist...), raised by brms's build step with brms's message,
        before any compile.
    RError
        If Stan fails; carries R's message.
    """
    from ..data.rread import spec_from

    spec = spec_from(formula, data, family, prior, **(read_args or {}))
    opts = BrmsOptions.build({
        "chains": chains, "iter": iter, "warmup": warmup, "thin": thin, "seed": seed,
        "cores": cores, "control": control, "sample_prior": sample_prior, "init": init,
        "normalize": normalize, "save_pars": save_pars, "stanvars": stanvars, "data2": data2,
        "knots": knots, "refresh": refresh, "quiet": quiet, "cache": cache,
        "diagnose": diagnose, "echo": echo, "brms_args": dict(brms_args),
    })
    return fit(spec, opts)
