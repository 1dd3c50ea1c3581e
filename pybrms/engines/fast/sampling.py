"""Sampling brms's model with nutpie: build the PyMC model, compile it, sample, wrap."""

from __future__ import annotations

import sys
import time
from typing import Any

from ...errors import EngineError
from ...spec.model import FitSpec
from ..base import draw_seed
from . import model, priors
from .check import FAST_INSTALL, check
from .inputs import brms_inputs
from .options import FastOptions
from .result import FastFit


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"pybrms: {msg}", file=sys.stderr, flush=True)


def sample(md: model.ModelData, opts: FastOptions, seed: int) -> tuple[Any, dict]:
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
            f"engine fast needs pymc and nutpie ({exc}); {FAST_INSTALL}"
        ) from exc

    pm_model = model.build_model(md, centre=opts.centre)
    t0 = time.perf_counter()
    free = [v.name for v in pm_model.free_RVs]
    start = model.initial_points(md)
    compiled = nutpie.compile_pymc_model(
        pm_model, backend="numba", var_names=free, initial_points=start,
        jitter_rvs={v for v in pm_model.free_RVs if v.name not in start})
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
    seed = draw_seed(opts.seed)
    _say("building brms's priors and Stan data (no Stan compile)", opts.quiet)
    t0 = time.perf_counter()
    md = brms_inputs(spec)
    priors.check_table(md.prior)
    build_s = time.perf_counter() - t0
    _say(f"compiling the PyMC model with nutpie; sampling {opts.chains} chain(s)", opts.quiet)
    trace, timing = sample(md, opts, seed)
    result = FastFit.from_trace(md, trace, spec=spec, opts=opts, seed=seed,
                                timing={"build": round(build_s, 3), **timing,
                                        "total": round(time.perf_counter() - t_start, 3)})
    if opts.diagnose:
        result.warn_diagnostics()
    return result

