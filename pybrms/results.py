"""The one results contract every engine returns: :class:`FitResult` and its tidy schema.

Each tidy row is one parameter of one model fitted by one engine:

* ``effect == "fixed"``: a population-level effect, named as brms's ``fixef()`` rows
  (``Intercept``, ``x1``, ``maleTRUE``);
* ``effect == "ran_pars"``: a group-level SD ``sd_<group>__<term>``, a correlation
  ``cor_<group>__<term1>__<term2>`` (``group`` holds the grouping factor) or the residual SD
  ``sigma`` (``group`` is ``"Residual"``), named as brms names its parameters, so rows line up
  across engines (the ``effect``/``group`` columns follow broom.mixed).

Columns an engine cannot fill are left missing (NaN), never invented: lme4 has no
``post_prob``, brms no ``p_value``, and no frequentist engine here has an interval for an SD.
``engine`` is always the registry name of the engine that made the row; ``method`` says how
(``REML``, ``ML (Laplace approximation)``, ``NUTS (Stan)``, ``variational Bayes ...``).

Provenance has one layout for every engine (:func:`make_provenance`).
"""

from __future__ import annotations

import abc
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConvergenceWarning

#: Column order of a tidy results frame.
TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "effect",
    "group",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "conf_level",
    "statistic",
    "p_value",
    "post_prob",
    "evid_ratio",
    "engine",
    "method",
    "model",
)
#: values of the ``effect`` column
EFFECTS: tuple[str, ...] = ("fixed", "ran_pars")

_STRING_COLUMNS = ("term", "effect", "group", "engine", "method", "model")

#: the keys of every fit's ``provenance``, in this order (``details`` is engine-specific)
PROVENANCE_KEYS: tuple[str, ...] = (
    "engine",
    "method",
    "versions",
    "formula",
    "family",
    "prior",
    "seed",
    "options",
    "data_hash",
    "n_rows",
    "timing_seconds",
    "warnings",
    "details",
    "created",
)


def tidy_frame(rows: pd.DataFrame | list[dict] | dict) -> pd.DataFrame:
    """Return ``rows`` as a frame with exactly :data:`TIDY_COLUMNS`, in order.

    Parameters
    ----------
    rows : DataFrame, list of dict or dict of columns
        Records holding some of the schema's columns. Missing numeric columns become NaN,
        a missing ``effect`` becomes ``"fixed"``, other missing strings ``""``.

    Returns
    -------
    DataFrame
        A new frame; numeric columns are float64, the string columns strings.

    Raises
    ------
    ValueError
        If a column outside the schema is present, ``term``/``engine`` is missing, or an
        ``effect`` is not one of :data:`EFFECTS`.
    """
    df = pd.DataFrame(rows).copy()
    extra = [c for c in df.columns if c not in TIDY_COLUMNS]
    if extra:
        raise ValueError(f"columns outside the tidy schema: {extra}")
    for col in ("term", "engine"):
        if col not in df.columns or df[col].isna().any():
            raise ValueError(f"tidy results need a non-missing {col!r} column")
    for col in TIDY_COLUMNS:
        if col not in df.columns:
            df[col] = ("fixed" if col == "effect" else "") if col in _STRING_COLUMNS else np.nan
    for col in TIDY_COLUMNS:
        if col in _STRING_COLUMNS:
            df[col] = df[col].fillna("").astype(str)
        else:
            df[col] = pd.to_numeric(df[col], errors="raise").astype("float64")
    bad = sorted(set(df["effect"]) - set(EFFECTS))
    if bad:
        raise ValueError(f"effect must be one of {EFFECTS}, got {bad}")
    return df.loc[:, list(TIDY_COLUMNS)].reset_index(drop=True)


def wald_rows(
    terms: Sequence[str],
    estimate: Iterable[float],
    std_error: Iterable[float],
    conf_level: float,
    statistic: Iterable[float] | None = None,
    p_value: Iterable[float] | None = None,
) -> dict[str, Any]:
    """Population-level rows with the Wald interval ``estimate -/+ z * std_error``.

    What R's ``confint(method = "Wald")`` gives; shared by the frequentist engines.

    Parameters
    ----------
    terms : sequence of str
        brms coefficient names.
    estimate, std_error : iterable of float
        Point estimates and standard errors.
    conf_level : float
        In (0, 1).
    statistic, p_value : iterable of float, optional
        Test statistic and two-sided p-value (NaN when absent).

    Returns
    -------
    dict
        Columns for :func:`tidy_frame` (without ``engine``/``method``/``model``).
    """
    from scipy.stats import norm

    check_conf_level(conf_level)
    z = float(norm.ppf(1 - (1 - conf_level) / 2))
    est = np.asarray(list(estimate), dtype=float)
    se = np.asarray(list(std_error), dtype=float)
    nan = np.full(len(est), np.nan)
    return {
        "term": list(terms),
        "effect": "fixed",
        "estimate": est,
        "std_error": se,
        "conf_low": est - z * se,
        "conf_high": est + z * se,
        "conf_level": conf_level,
        "statistic": nan if statistic is None else np.asarray(list(statistic), dtype=float),
        "p_value": nan if p_value is None else np.asarray(list(p_value), dtype=float),
    }


def check_conf_level(conf_level: float) -> None:
    """Raise ``ValueError`` unless ``0 < conf_level < 1``."""
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")


def make_provenance(
    *,
    engine: str,
    method: str,
    versions: Mapping[str, str],
    spec: Any,
    options: Mapping[str, Any],
    seed: int | None = None,
    timing_seconds: Mapping[str, float] | None = None,
    warnings: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a fit's provenance in the one layout of :data:`PROVENANCE_KEYS`.

    Parameters
    ----------
    engine, method : str
        Registry name of the engine and how it estimated (``REML``, ``NUTS (Stan)``...).
    versions : mapping
        Software versions that determine the numbers.
    spec : FitSpec
        The model fitted (formula, family, priors, data hash, rows).
    options : mapping
        The engine options actually used (JSON-friendly values).
    seed : int, optional
        The random seed, for engines that draw random numbers.
    timing_seconds : mapping, optional
        Wall times of the stages.
    warnings : sequence of str
        The fit's warnings, in the engine's words.
    details : mapping, optional
        Engine-specific facts (brms: the Stan program key; statsmodels: the mapping).

    Returns
    -------
    dict
    """
    return {
        "engine": engine,
        "method": method,
        "versions": dict(versions),
        "formula": spec.formula.text,
        "family": spec.family.r_call(),
        "prior": [p.to_dict() for p in spec.priors],
        "seed": seed,
        "options": dict(options),
        "data_hash": spec.data_hash,
        "n_rows": int(len(spec.data)),
        "timing_seconds": dict(timing_seconds or {}),
        "warnings": list(warnings),
        "details": dict(details or {}),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class FitResult(abc.ABC):
    """What every engine's ``fit`` returns.

    Subclasses hold the engine's native result and implement :meth:`_fixed` and
    :meth:`_ran_pars`; everything callers use is defined here, once.

    Attributes
    ----------
    engine : str
        Registry name of the engine that made the fit.
    method : str
        How the engine estimated (``REML``, ``NUTS (Stan)``, ...).
    warnings : list of str
        Every message the engine recorded about the fit, in its own words (also in the
        provenance, and emitted as :class:`~pybrms.errors.EngineWarning` subclasses).
    provenance : dict
        One layout for every engine; see :func:`make_provenance`.
    """

    engine: str
    method: str
    warnings: list[str]
    provenance: dict[str, Any]

    @property
    def formula(self) -> str:
        """The brms formula as given."""
        return str(self.provenance.get("formula", ""))

    @property
    def family(self) -> str:
        """The brms family call, e.g. ``bernoulli(link = "logit")``."""
        return str(self.provenance.get("family", ""))

    @property
    def bayesian(self) -> bool:
        """True when the numbers summarise a posterior (exact or approximate)."""
        return False

    @property
    def converged(self) -> bool:
        """True unless the engine reported a convergence problem (see :attr:`warnings`)."""
        return True

    @property
    def singular(self) -> bool:
        """True if the engine reported a boundary (singular) fit."""
        return any("singular" in w for w in self.warnings)

    @abc.abstractmethod
    def _fixed(self, conf_level: float) -> dict[str, Any] | pd.DataFrame:
        """Population-level rows (columns of :data:`TIDY_COLUMNS`, without engine/model)."""

    @abc.abstractmethod
    def _ran_pars(self, conf_level: float) -> dict[str, Any] | pd.DataFrame:
        """Group-level SD, correlation and residual-SD rows, named the brms way."""

    def tidy(
        self, conf_level: float = 0.95, effects: str | Sequence[str] = EFFECTS
    ) -> pd.DataFrame:
        """The fit in the shared tidy schema.

        Parameters
        ----------
        conf_level : float
            Level of the interval (Wald for frequentist engines, equal-tailed credible
            interval for Bayesian ones).
        effects : str or sequence of str
            ``"fixed"``, ``"ran_pars"`` or both (default).

        Returns
        -------
        DataFrame
            Columns :data:`TIDY_COLUMNS`; population-level rows first.
        """
        check_conf_level(conf_level)
        wanted = [effects] if isinstance(effects, str) else list(effects)
        bad = sorted(set(wanted) - set(EFFECTS))
        if bad:
            raise ValueError(f"effects must be among {EFFECTS}, got {bad}")
        frames = []
        for effect, rows in (("fixed", self._fixed), ("ran_pars", self._ran_pars)):
            if effect in wanted:
                df = pd.DataFrame(rows(conf_level))
                df["effect"] = effect
                df["engine"] = self.engine
                df["method"] = self.method
                df["model"] = self.formula
                frames.append(tidy_frame(df) if len(df) else tidy_frame(_empty()))
        return pd.concat(frames, ignore_index=True) if frames else tidy_frame(_empty())

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.formula!r} engine={self.engine} "
                f"method={self.method!r} warnings={len(self.warnings)}>")


class PosteriorFitResult(FitResult):
    """A :class:`FitResult` that summarises posterior draws (brms, fast): its diagnostics,
    warnings and convergence come from the sampler, in one layout for every such engine.

    Subclasses provide ``summary()`` (per variable: ``rhat``, ``ess_bulk``, ``ess_tail``) and
    :meth:`_sampler_counts`.
    """

    #: put before each convergence warning's text (naming an engine that is not brms)
    _warning_prefix = ""

    @property
    def warnings(self) -> list[str]:  # type: ignore[override]
        """The engine's warnings during the fit and the sampler problems found after it."""
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

    @abc.abstractmethod
    def summary(self) -> pd.DataFrame:
        """Per variable: ``variable``, ``rhat``, ``ess_bulk``, ``ess_tail`` (and more)."""

    @abc.abstractmethod
    def _sampler_counts(self) -> tuple[int, int, int]:
        """``(divergences, tree-depth hits, tree-depth limit)`` after warm-up."""

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
        divergences, hits, limit = self._sampler_counts()
        s = self.summary()
        s = s[s["variable"] != "lp__"]
        high = s.loc[s["rhat"] > rhat_max, "variable"].tolist()
        low = s.loc[(s["ess_bulk"] < min_ess) | (s["ess_tail"] < min_ess), "variable"].tolist()
        out = {
            "divergences": int(divergences),
            "max_treedepth": int(limit),
            "treedepth_hits": int(hits),
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
            warnings.warn(self._warning_prefix + problem, ConvergenceWarning, stacklevel=3)
            if problem not in self.provenance["warnings"]:
                self.provenance["warnings"].append(problem)
        self.provenance.setdefault("details", {})["diagnostics"] = {
            k: v for k, v in d.items() if k not in ("high_rhat", "low_ess")
        }
        return d


def diagnostic_messages(d: dict[str, Any]) -> list[str]:
    """One message per problem in :meth:`PosteriorFitResult.diagnostics` output (empty when
    all is well).
    """
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


def _empty() -> dict[str, list]:
    return {"term": [], "engine": []}


def ran_pars_row(term: str, group: str, estimate: float, **extra: Any) -> dict[str, Any]:
    """One ``ran_pars`` row; missing interval/statistic columns stay NaN."""
    return {"term": term, "group": group, "estimate": float(estimate), **extra}


def order_ran_pars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in brms's order: per grouping factor (first seen first) its SDs, then its
    correlations; ``sigma`` last.
    """
    groups = list(dict.fromkeys(r["group"] for r in rows if r["term"] != "sigma"))

    def key(r: dict[str, Any]) -> tuple[int, int]:
        if r["term"] == "sigma":
            return (len(groups), 0)
        return (groups.index(r["group"]), 0 if r["term"].startswith("sd_") else 1)

    return sorted(rows, key=key)
