"""One call, every engine: fit a brms formula with brms, lme4 and statsmodels, tidy them together."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .engines import ENGINES, capabilities, get_engine
from .errors import EngineError
from .results import EFFECTS, TIDY_COLUMNS, FitResult
from .rread import spec_from
from .spec.families import Family
from .spec.priors import Prior

#: engines :func:`fit` uses unless told otherwise: the exact ones (brms, lme4) and every
#: frequentist one; approximate Bayesian engines (``fast``) only when asked for, since their
#: results need a check against brms (:func:`pybrms.verify`)
DEFAULT_ENGINES: tuple[str, ...] = tuple(
    n for n in ENGINES if capabilities(n).exact or capabilities(n).frequentist)


class FitSet:
    """Fits of one formula by several engines.

    Parameters
    ----------
    fits : mapping
        Engine name -> :class:`~pybrms.results.FitResult`.
    formula : str
        The brms formula.
    family : str
        brms family.

    """

    def __init__(self, fits: Mapping[str, FitResult], formula: str = "", family: str = "") -> None:
        if not fits:
            raise EngineError("a FitSet needs at least one fit")
        self.fits: dict[str, FitResult] = dict(fits)
        self.formula = formula
        self.family = family
        self.timing_seconds: dict[str, float] = {}

    @property
    def engines(self) -> list[str]:
        """Engine names, in fitting order."""
        return list(self.fits)

    def __getitem__(self, engine: str) -> FitResult:
        if engine not in self.fits:
            raise EngineError(f"no {engine!r} fit in this set; it has {', '.join(self.fits)}")
        return self.fits[engine]

    def __contains__(self, engine: object) -> bool:
        return engine in self.fits

    def tidy(self, conf_level: float = 0.95,
             effects: str | Sequence[str] = EFFECTS) -> pd.DataFrame:
        """Every engine's rows in one frame of the shared schema.

        Engine-specific columns stay empty (NaN): no ``p_value`` for brms, no
        ``post_prob`` for lme4. ``engine`` is the registry name; ``method`` says how each
        engine estimated (e.g. statsmodels's variational Bayes for bernoulli models).
        """
        frames = [f.tidy(conf_level=conf_level, effects=effects) for f in self.fits.values()]
        return pd.concat(frames, ignore_index=True).loc[:, list(TIDY_COLUMNS)]

    @property
    def provenance(self) -> dict[str, Any]:
        """Engine name -> that fit's provenance (one layout for every engine)."""
        return {name: f.provenance for name, f in self.fits.items()}

    @property
    def warnings(self) -> dict[str, list[str]]:
        """Engine name -> warnings recorded for that fit (lme4 convergence, singular fits...)."""
        return {name: list(f.warnings) for name, f in self.fits.items()}

    def hypothesis(self, hypotheses: str | Sequence[str], alpha: float = 0.05) -> pd.DataFrame:
        """The ``hypothesis()`` table of the fit in this set that has one (brms's numbers)."""
        for name, f in self.fits.items():
            if get_engine(name).capabilities.hypotheses:
                return f.hypothesis(hypotheses, alpha=alpha)  # type: ignore[attr-defined]
        raise EngineError(f"no engine in this set ({', '.join(self.fits)}) has hypothesis()")

    def __repr__(self) -> str:
        return f"<FitSet {self.formula!r} engines={self.engines}>"


def fit(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    engines: Sequence[str] | str = DEFAULT_ENGINES,
    *,
    prior: Prior | Sequence[Prior] | None = None,
    seed: int | None = None,
    chains: int | None = None,
    iter: int | None = None,  # noqa: A002 - brms's name
    warmup: int | None = None,
    quiet: bool | None = None,
    engine_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> FitSet:
    """Fit one brms formula with several engines.

    The model is parsed and the data validated once (:class:`~pybrms.spec.model.FitSpec`),
    every engine's options are built and every engine checks that it can express the model,
    all before the first (slow) fit starts.

    Parameters
    ----------
    formula : str
        A brms formula, e.g. ``"y ~ x1 + x2 + (1 | user/conv) + (1 | model)"``.
    data : DataFrame or path
        The data; a path is read by R as an R script reads it (see :func:`pybrms.read_csv`).
    family : str or Family
        brms family (``"gaussian"``, ``"bernoulli"``, ``"binomial"``, ``"poisson"``...).
    engines : sequence of str or comma-separated str
        Engine names; see :data:`pybrms.engines.ENGINES`.
    prior, seed, chains, iter, warmup, quiet : optional
        Options that mean the same for every engine that takes them; each reaches every
        chosen engine that can use it (``prior``: engines that take priors; ``quiet``: all).
    engine_options : mapping, optional
        Engine name -> that engine's own options, e.g. ``{"lme4": {"fast": True}}``,
        ``{"brms": {"cores": 2, "control": {"adapt_delta": 0.95}}}``.

    Returns
    -------
    FitSet

    Raises
    ------
    EngineError
        For an unknown engine (the message lists the available ones), an engine that
        cannot express the formula (naming the term), an option no chosen engine takes, or
        options for an engine not asked for.
    SpecError, DataError
        For a malformed formula or data that does not fit it.

    """
    if isinstance(engines, str):
        engines = [e.strip() for e in engines.split(",") if e.strip()]
    engines = list(dict.fromkeys(engines))
    if not engines:
        raise EngineError(f"no engine given; available engines: {', '.join(ENGINES)}")
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise EngineError(
            f"unknown engine(s) {', '.join(map(repr, unknown))}; "
            f"available engines: {', '.join(ENGINES)}"
        )
    per_engine = {k: dict(v) for k, v in (engine_options or {}).items()}
    stray = [k for k in per_engine if k not in engines]
    if stray:
        raise EngineError(f"engine_options for engine(s) not fitted: {', '.join(stray)}")
    modules = {name: get_engine(name) for name in engines}

    common = {"seed": seed, "chains": chains, "iter": iter, "warmup": warmup, "quiet": quiet}
    given = {k: v for k, v in common.items() if v is not None}
    if prior is not None and not any(m.capabilities.uses_priors for m in modules.values()):
        raise EngineError(f"option 'prior' is taken by none of the engines {engines}")
    for key in given:
        if not any(key in m.options.names() for m in modules.values()):
            raise EngineError(f"option {key!r} is taken by none of the engines {engines}")


    spec = spec_from(formula, data, family, prior)
    opts = {}
    for name, module in modules.items():
        shared = {k: v for k, v in given.items() if k in module.options.names()}
        opts[name] = module.options.build({**shared, **per_engine.get(name, {})})
        module.check(spec)

    fits: dict[str, FitResult] = {}
    timing: dict[str, float] = {}
    for name, module in modules.items():
        t0 = time.perf_counter()
        fits[name] = module.fit(spec, opts[name])
        timing[name] = round(time.perf_counter() - t0, 3)
    out = FitSet(fits, formula=spec.formula.text, family=spec.family.r_call())
    out.timing_seconds = timing
    return out
