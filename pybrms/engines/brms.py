"""The brms engine: build the model in brms, compile once (cached), sample, wrap the result.

The pipeline follows brms's own stages, kept apart so invalid input never costs a compile:

1. **spec** (pure Python): formula, family, priors and data are validated here;
2. **build**: ``brm(..., empty = TRUE)`` lets brms validate and generate Stan code and data;
3. **compile**: the Stan code is looked up in :mod:`pybrms.cache`; only a miss compiles;
4. **sample**: ``brm(fit = x, ...)``, brms's own route for reusing a compiled program.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import bridge
from ..brmsfit import BrmsFit
from ..cache import ModelCache, get_cache, program_key
from ..errors import SpecError
from ..spec.families import Family, parse_family
from ..spec.formula import parse_formula
from ..spec.priors import Prior
from ..spec.validate import validate_data

NAME = "brms"

_models: dict[str, Any] = {}  # key -> R stanmodel already loaded in this process
_toolchain: dict[str, str] | None = None


def check(formula: str, family: str | Family = "gaussian") -> None:
    """Brms expresses every formula pybrms parses; only syntax is checked here."""
    parse_formula(formula)
    parse_family(family)


def toolchain() -> dict[str, str]:
    """Everything besides the Stan code that changes a compiled binary (part of the cache key)."""
    global _toolchain
    if _toolchain is None:
        v = bridge.to_py(bridge.call("pybrms_versions"))
        makevars = v.get("makevars") or ""
        flags = Path(makevars).read_text() if makevars and Path(makevars).exists() else ""
        _toolchain = {
            "R": str(v["R"]),
            "brms": str(v["brms"]),
            "rstan": str(v["rstan"]),
            "StanHeaders": str(v["StanHeaders"]),
            "boost": str(v["boost"]),
            "makevars": flags,
            "platform": sys.platform,
        }
    return _toolchain


def data_hash(data: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values, column names and dtypes (index ignored)."""
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _priors(prior: Prior | Sequence[Prior] | None) -> list[Prior]:
    """``prior`` as a list of :class:`Prior`, checked."""
    items = [] if prior is None else [prior] if isinstance(prior, Prior) else list(prior)
    for p in items:
        if not isinstance(p, Prior):
            raise SpecError(f"priors must be made with pybrms.prior(...), got {p!r}")
    return items


def _r_prior(p: Prior) -> dict:
    """One prior as the list ``pybrms_priors()`` in r/brms.R reads (``class``, not ``class_``)."""
    d = p.to_dict()
    d["class"] = d.pop("class_")
    return d


def _progress(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else bridge.write_console


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"pybrms: {msg}", file=sys.stderr, flush=True)


def compiled_model(stancode: str, cache: ModelCache, quiet: bool = False) -> tuple[Any, str, bool]:
    """Return ``(R stanmodel, key, compiled_now)`` for ``stancode``, compiling only on a miss."""
    key = program_key(stancode, toolchain())
    if key in _models:
        cache.record_hit()
        _say(f"reusing compiled Stan program {key[:12]} (loaded in this process)", quiet)
        return _models[key], key, False
    path = cache.lookup(key, stancode)
    if path is not None:
        model = bridge.call("pybrms_read_rds", str(path))
        cache.record_hit()
        _say(f"reusing compiled Stan program {key[:12]} from {cache.directory}", quiet)
        _models[key] = model
        return model, key, False
    _say(f"compiling Stan program {key[:12]} (about 70-90 s)...", quiet)
    t0 = time.perf_counter()
    model = bridge.call("pybrms_compile", stancode)
    seconds = time.perf_counter() - t0
    tmp = cache.tmp_path()
    try:
        bridge.call("pybrms_save_rds", model, str(tmp))
        cache.commit(key, tmp, stancode, toolchain(), seconds)
    finally:
        tmp.unlink(missing_ok=True)
    _say(f"compiled in {seconds:.1f} s; cached as {key[:12]}", quiet)
    _models[key] = model
    return model, key, True


def brm(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    prior: Prior | Sequence[Prior] | None = None,
    *,
    chains: int = 4,
    iter: int = 2000,  # noqa: A002 - brms's name
    warmup: int | None = None,
    thin: int = 1,
    seed: int | None = None,
    cores: int = 1,
    control: dict | None = None,
    sample_prior: str = "no",
    init: Any = None,
    normalize: bool = True,
    refresh: int | None = None,
    quiet: bool = False,
    cache: ModelCache | None = None,
    diagnose: bool = True,
    echo: Callable[[str], None] | None = None,
    **brms_args: Any,
) -> BrmsFit:
    """Fit a brms model from Python, exactly as ``brms::brm()`` would in R.

    Parameters
    ----------
    formula : str
        brms formula, e.g. ``"y ~ x + (1 | user_id/conversation_id) + (1 | model_name)"``
        or ``"s | trials(n) ~ x"``.
    data : DataFrame
        The data; every column the formula uses must exist and have no missing values.
    family : str
        brms family, e.g. ``"bernoulli"``, ``"gaussian"``, ``"binomial(link = 'probit')"``.
    prior : Prior or list of Prior, optional
        Made with :func:`pybrms.prior`. Explicit priors on every class make the Stan code
        independent of the data, so the compiled program is reused across datasets.
    chains, iter, warmup, thin, seed, cores, control, init : optional
        As in ``brm()``. ``warmup`` defaults to ``iter // 2``. ``seed`` defaults to a random
        integer that is recorded in the fit's provenance, so every fit can be re-run.
    sample_prior, normalize : optional
        As in ``brm()``.
    refresh : int, optional
        Progress line every ``refresh`` iterations (default ``max(iter // 10, 1)``).
    quiet : bool
        Hide compile and sampling progress.
    cache : ModelCache, optional
        Compiled-program cache (default: :func:`pybrms.cache.get_cache`).
    diagnose : bool
        Warn about divergences, tree-depth hits, Rhat > 1.01 and low ESS after the fit.
    echo : callable, optional
        Receives the sampler's console output as it arrives (default: written to stderr);
        ignored when ``quiet``.
    **brms_args
        Any other ``brm()`` argument, passed through unchanged.

    Returns
    -------
    BrmsFit

    Raises
    ------
    SpecError, DataError
        For a malformed formula, family or prior, or data that does not fit them; raised
        before R is started.
    RError
        If brms or Stan fails; carries R's message.

    """
    t_start = time.perf_counter()
    parsed = parse_formula(formula)
    fam = parse_family(family)
    priors = _priors(prior)
    validate_data(parsed, fam, data)
    for name, value in (("chains", chains), ("iter", iter), ("thin", thin), ("cores", cores)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecError(f"{name} must be a positive integer, got {value!r}")
    warmup = iter // 2 if warmup is None else warmup
    if not isinstance(warmup, int) or not 0 <= warmup < iter:
        raise SpecError(
            f"warmup must be an integer with 0 <= warmup < iter ({iter}), got {warmup!r}"
        )
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31 - 1)
    if sample_prior not in ("no", "yes", "only"):
        raise SpecError(f"sample_prior must be 'no', 'yes' or 'only', got {sample_prior!r}")
    cache = cache if cache is not None else get_cache()
    used = sorted(parsed.variables)
    frame = data.loc[:, used] if used else data

    model_args: dict[str, Any] = {"sample_prior": sample_prior, "normalize": normalize, **brms_args}
    t0 = time.perf_counter()
    x = bridge.call("pybrms_build", formula, frame, fam.name, fam.link, [_r_prior(p) for p in priors], model_args)
    stancode = str(bridge.to_py(bridge.call("pybrms_stancode", x)))
    build_s = time.perf_counter() - t0

    model, key, compiled = compiled_model(stancode, cache, quiet)

    sampling: dict[str, Any] = {
        "chains": chains,
        "iter": iter,
        "warmup": warmup,
        "thin": thin,
        "seed": seed,
        "cores": cores,
        # quiet must silence rstan's worker processes too (with cores > 1 they print to stdout)
        "refresh": (0 if quiet else max(iter // 10, 1)) if refresh is None else refresh,
        "open_progress": False,
        **model_args,
    }
    if control is not None:
        sampling["control"] = control
    if init is not None:
        sampling["init"] = init
    _say(f"sampling {chains} chain(s) x {iter - warmup} draws after {warmup} warm-up", quiet)
    t0 = time.perf_counter()
    live = _progress(quiet) if echo is None or quiet else echo
    rfit = bridge.call("pybrms_sample", x, model, sampling, echo=live, children=cores > 1)
    sample_s = time.perf_counter() - t0

    settings = {
        "formula": formula,
        "family": fam.r_call(),
        "prior": [p.to_dict() for p in priors],
        **{k: v for k, v in sampling.items() if k != "open_progress"},
    }
    prov = {
        "engine": NAME,
        "versions": {k: v for k, v in toolchain().items() if k != "makevars"},
        "seed": seed,
        "settings": settings,
        "data_hash": data_hash(frame),
        "n_rows": int(len(frame)),
        "stan_program": key,
        "compiled": compiled,
        "timing_seconds": {
            "build": round(build_s, 3),
            "sample": round(sample_s, 3),
            "total": round(time.perf_counter() - t_start, 3),
        },
    }
    fit = BrmsFit(rfit, provenance=prov)
    if diagnose:
        fit.warn_diagnostics()
    return fit


def fit(
    formula: str, data: pd.DataFrame, family: str | Family = "gaussian", **options: Any
) -> BrmsFit:
    """Engine interface: same as :func:`brm`."""
    return brm(formula, data, family=family, **options)
