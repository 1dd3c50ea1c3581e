"""One call, every engine: fit a brms formula with brms, lme4 and statsmodels, tidy them together."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .engines import ENGINES, get_engine
from .errors import DataError, EngineError
from .results import TIDY_COLUMNS
from .spec.families import Family, parse_family
from .spec.formula import parse_formula

#: engines :func:`fit` uses unless told otherwise
DEFAULT_ENGINES: tuple[str, ...] = ("brms", "lme4", "statsmodels")


def check_numeric_columns(
    data: pd.DataFrame,
    columns: Iterable[str],
    source: str | None = None,
    line_numbers: Sequence[int] | None = None,
) -> None:
    """Refuse text columns that are mostly numbers with a few stray non-numbers.

    A column such as ``x1`` read from a CSV with one cell ``"1,5"`` or ``"n/a"`` becomes
    text, and R would then treat it as a factor with hundreds of levels. A column whose
    values are all text (``"treatment"``) or all numbers written as text (``"1"``, ``"2"``,
    a legitimate factor) is accepted.

    Parameters
    ----------
    data : DataFrame
        The data.
    columns : iterable of str
        Columns to check (those the formula uses as predictors or response).
    source : str, optional
        File name, to name in the error.
    line_numbers : sequence of int, optional
        File line of each data row (default: row position + 2, a CSV with one header line).

    Raises
    ------
    DataError
        Naming the column, the file line (or row) and the offending value.

    """
    for col in columns:
        if col not in data.columns:
            continue
        s = data[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        present = s.dropna()
        if present.empty:
            continue
        as_num = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        n_num = int(as_num.notna().sum())
        if n_num == 0 or n_num == len(present) or n_num < len(present) / 2:
            continue
        bad_index = as_num.index[as_num.isna()]
        pos = int(data.index.get_loc(bad_index[0]))
        line = line_numbers[pos] if line_numbers is not None else pos + 2
        where = f"{source}, line {line}" if source else f"row {pos}"
        raise DataError(
            f"{where}, column {col!r}: value {present.loc[bad_index[0]]!r} is not a number, "
            f"but {n_num} of {len(present)} values in {col!r} are; fix the value "
            f"({len(bad_index)} non-numeric value(s) in all) or the column would be read "
            "as a factor"
        )


class FitSet:
    """Fits of one formula by several engines.

    Parameters
    ----------
    fits : mapping
        Engine name -> fitted object (each with ``.tidy(conf_level)`` and ``.provenance``).
    formula : str
        The brms formula.
    family : str
        brms family.

    """

    def __init__(self, fits: Mapping[str, Any], formula: str = "", family: str = "") -> None:
        if not fits:
            raise EngineError("a FitSet needs at least one fit")
        self.fits: dict[str, Any] = dict(fits)
        self.formula = formula
        self.family = family
        self.timing_seconds: dict[str, float] = {}

    @property
    def engines(self) -> list[str]:
        """Engine names, in fitting order."""
        return list(self.fits)

    def __getitem__(self, engine: str) -> Any:
        if engine not in self.fits:
            raise EngineError(f"no {engine!r} fit in this set; it has {', '.join(self.fits)}")
        return self.fits[engine]

    def __contains__(self, engine: object) -> bool:
        return engine in self.fits

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Every engine's population-level effects in one frame of the shared schema.

        Engine-specific columns stay empty (NaN): no ``p_value`` for brms, no
        ``post_prob`` for lme4. The ``engine`` column holds each fit's own label (e.g.
        ``statsmodels-vb`` for statsmodels's variational Bayes fits).
        """
        frames = [f.tidy(conf_level=conf_level) for f in self.fits.values()]
        return pd.concat(frames, ignore_index=True).loc[:, list(TIDY_COLUMNS)]

    @property
    def provenance(self) -> dict[str, Any]:
        """Engine name -> that fit's provenance (versions, settings, warnings, timing)."""
        return {name: f.provenance for name, f in self.fits.items()}

    @property
    def warnings(self) -> dict[str, list[str]]:
        """Engine name -> warnings recorded for that fit (lme4 convergence, singular fits...)."""
        return {name: list(getattr(f, "warnings", []) or []) for name, f in self.fits.items()}

    def hypothesis(self, hypotheses: str | Sequence[str], alpha: float = 0.05) -> pd.DataFrame:
        """The ``hypothesis()`` table of the brms fit in this set (brms's own numbers)."""
        return self["brms"].hypothesis(hypotheses, alpha=alpha)

    def __repr__(self) -> str:
        return f"<FitSet {self.formula!r} engines={self.engines}>"


def fit(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    engines: Sequence[str] = DEFAULT_ENGINES,
    *,
    engine_options: Mapping[str, Mapping[str, Any]] | None = None,
    **brms_options: Any,
) -> FitSet:
    """Fit one brms formula with several engines.

    Every engine first checks that it can express the formula, so an inexpressible term
    fails before any (slow) fit starts.

    Parameters
    ----------
    formula : str
        A brms formula, e.g. ``"y ~ x1 + x2 + (1 | user/conv) + (1 | model)"``.
    data : DataFrame
        The data.
    family : str or Family
        brms family name (``"gaussian"``, ``"bernoulli"``, ``"binomial"``, ``"poisson"``).
    engines : sequence of str
        Engine names; see :data:`pybrms.engines.ENGINES`.
    engine_options : mapping, optional
        Engine name -> keyword arguments for that engine's ``fit``, e.g.
        ``{"lme4": {"fast": True}}``.
    **brms_options
        Passed to :func:`pybrms.brm` (``prior``, ``chains``, ``iter``, ``seed``...).

    Returns
    -------
    FitSet

    Raises
    ------
    EngineError
        For an unknown engine (the message lists the available ones), an engine that
        cannot express the formula (naming the term), or options for an engine not asked for.
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
    options = {k: dict(v) for k, v in (engine_options or {}).items()}
    stray = [k for k in options if k not in engines]
    if stray:
        raise EngineError(f"engine_options for engine(s) not fitted: {', '.join(stray)}")
    if brms_options and "brms" not in engines:
        raise EngineError(
            f"brms options ({', '.join(brms_options)}) given but engine 'brms' is not in {engines}"
        )
    parsed = parse_formula(formula)
    fam = parse_family(family)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    check_numeric_columns(data, sorted(parsed.fixed_variables | parsed.response_variables))
    modules = {name: get_engine(name) for name in engines}
    for module in modules.values():
        module.check(formula, fam)

    fits: dict[str, Any] = {}
    timing: dict[str, float] = {}
    for name, module in modules.items():
        kwargs = dict(options.get(name, {}))
        if name == "brms":
            kwargs = {**brms_options, **kwargs}
        t0 = time.perf_counter()
        fits[name] = module.fit(formula, data, family=fam, **kwargs)
        timing[name] = round(time.perf_counter() - t0, 3)
    out = FitSet(fits, formula=formula, family=fam.r_call())
    out.timing_seconds = timing
    return out
