"""Fitting with brms: build, compile once, sample; ``pybrms.brm()``.

The pipeline follows brms's own stages, kept apart so invalid input never costs a compile:

1. **spec** (pure Python): formula, family, priors and data are validated first;
2. **build**: ``brm(..., empty = TRUE)`` lets brms validate and generate Stan code and data
   (:mod:`.build`);
3. **compile**: the Stan code is looked up in :mod:`pybrms.cache`; only a miss compiles
   (:mod:`.compile`);
4. **sample**: ``brm(fit = x, ...)``, brms's own route for reusing a compiled program
   (:mod:`.sampling`, shared with ``update()``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from ... import bridge
from ...cache import ModelCache, get_cache
from ...results import make_provenance
from ...rread import spec_from
from ...spec.families import Family
from ...spec.model import FitSpec, PriorInput
from ...spec.rcode import RExpr
from ..base import draw_seed
from . import build, sampling
from .brmsfit import METHOD, BrmsFit
from .compile import compiled_model, say, toolchain
from .options import NAME, BrmsOptions


def model_args(opts: BrmsOptions) -> dict[str, Any]:
    """The ``brm()`` arguments that shape the model (not the sampler), for build and sample."""
    args: dict[str, Any] = {"sample_prior": opts.sample_prior, "normalize": opts.normalize}
    for key in ("save_pars", "data2", "knots"):
        if getattr(opts, key) is not None:
            args[key] = getattr(opts, key)
    stanvars = build.stanvars_expr(opts.stanvars)
    if stanvars is not None:
        args["stanvars"] = stanvars
    return {**args, **opts.brms_args}


def fit(spec: FitSpec, opts: BrmsOptions | None = None) -> BrmsFit:
    """Fit ``spec`` with brms, exactly as ``brms::brm()`` would in R.

    brms's own stages: build (``brm(..., empty = TRUE)``: brms validates and writes the Stan
    code), compile (only on a cache miss), sample (``brm(fit = x, ...)``, brms's route for
    reusing a compiled program).

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
    SpecError
        When brms's build step refuses the model (before any compile).
    RError
        If brms or Stan fails; carries R's message.
    """
    opts = opts if opts is not None else BrmsOptions()
    t_start = time.perf_counter()
    quiet = opts.quiet
    warmup = opts.iter // 2 if opts.warmup is None else opts.warmup
    seed = draw_seed(opts.seed)
    cache = opts.cache if opts.cache is not None else get_cache()
    margs = model_args(opts)
    with sampling.recorded_warnings() as caught:
        t0 = time.perf_counter()
        x = build.build(spec, margs)
        stancode = str(bridge.to_py(bridge.call("pybrms_stancode", x)))
        build_s = time.perf_counter() - t0
        model, key, compiled = compiled_model(stancode, cache, quiet)
        settings: dict[str, Any] = {
            "chains": opts.chains, "iter": opts.iter, "warmup": warmup, "thin": opts.thin,
            "seed": seed, "cores": opts.cores,
            "refresh": sampling.refresh_every(opts.iter, quiet, opts.refresh),
            "open_progress": False, **margs,
        }
        if opts.control is not None:
            settings["control"] = opts.control
        if opts.init is not None:
            settings["init"] = opts.init
        say(f"sampling {opts.chains} chain(s) x {opts.iter - warmup} draws after {warmup} "
            "warm-up", quiet)
        rfit, sample_s = sampling.run("pybrms_sample", x, model, settings, cores=opts.cores,
                                      quiet=quiet, echo=opts.echo)
    used = {k: v for k, v in settings.items() if k not in ("open_progress", "seed")}
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


def prepare(spec: FitSpec, opts: BrmsOptions | None = None) -> dict[str, Any]:
    """Compile the Stan program ``spec`` needs into the cache, or find it there; no sampling.

    What a run does once per model structure before that structure's fits fan out, so no two
    workers compile one program (the engine contract's optional ``prepare``).

    Returns
    -------
    dict
        ``key`` (the program key), ``compiled`` (whether this call compiled it) and
        ``seconds``.
    """
    opts = opts if opts is not None else BrmsOptions()
    t0 = time.perf_counter()
    x = build.build(spec, model_args(opts))
    stancode = str(bridge.to_py(bridge.call("pybrms_stancode", x)))
    cache = opts.cache if opts.cache is not None else get_cache()
    _model, key, compiled = compiled_model(stancode, cache, quiet=True)
    return {"key": key, "compiled": bool(compiled), "seconds": round(time.perf_counter() - t0, 3)}


def preflight(spec: FitSpec, opts: BrmsOptions | None = None) -> list[str]:
    """Run brms's build step and Stan's parser on ``spec`` (no compile); return the
    population-level coefficient names the fit will report (the engine contract's optional
    ``preflight``).

    Raises
    ------
    SpecError
        When brms refuses the model, or Stan's parser the program brms wrote for it.
    """
    opts = opts if opts is not None else BrmsOptions()
    return build.coefficient_names(build.build(spec, model_args(opts)))


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
    spec = spec_from(formula, data, family, prior, **(read_args or {}))
    opts = BrmsOptions.build({
        "chains": chains, "iter": iter, "warmup": warmup, "thin": thin, "seed": seed,
        "cores": cores, "control": control, "sample_prior": sample_prior, "init": init,
        "normalize": normalize, "save_pars": save_pars, "stanvars": stanvars, "data2": data2,
        "knots": knots, "refresh": refresh, "quiet": quiet, "cache": cache,
        "diagnose": diagnose, "echo": echo, "brms_args": dict(brms_args),
    })
    return fit(spec, opts)
