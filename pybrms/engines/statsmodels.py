"""The statsmodels engine: ``MixedLM`` for gaussian models, a labelled VB approximation for binary.

* **gaussian** -> :class:`statsmodels.regression.mixed_linear_model.MixedLM` by REML (as lme4's
  ``lmer``), engine label ``"statsmodels"``. Group-level terms are mapped to MixedLM's
  structure: one factor with correlated varying effects ``(1 + x | g)`` becomes
  ``groups = g, re_formula = "~x"``; random intercepts nested in one factor ``(1 | a/b)``
  become ``groups = a`` plus a variance component for ``a:b``; crossed random intercepts
  ``(1 | a) + (1 | c)`` become variance components within a single all-ones group.
* **bernoulli** -> :class:`statsmodels.genmod.bayes_mixed_glm.BinomialBayesMixedGLM` fitted by
  ``fit_vb()``: a *variational Bayes* approximation to a posterior under statsmodels's own
  normal priors, **not maximum likelihood**. Its rows carry the engine label
  ``"statsmodels-vb"``, and the provenance says what the numbers are. It has no p-values.

Anything MixedLM cannot express (random slopes on crossed factors, uncorrelated ``||`` slopes,
binomial with trials, poisson, other links) raises :class:`~pybrms.errors.EngineError`
naming the term or family.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EngineError
from ..results import tidy_frame
from ..spec.families import Family, parse_family
from ..spec.formula import Formula, GroupTerm, parse_formula
from ..spec.validate import validate_data

NAME = "statsmodels"
#: engine label of the variational Bayes fits (never called maximum likelihood)
VB_NAME = "statsmodels-vb"
VB_METHOD = (
    "variational Bayes (BinomialBayesMixedGLM.fit_vb: mean-field normal approximation to "
    "the posterior under statsmodels's normal priors); not maximum likelihood"
)

_ONES = "_pybrms_all"
_PLAIN = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")


@dataclass
class Plan:
    """How a brms formula maps onto statsmodels.

    Attributes
    ----------
    kind : str
        ``"mixedlm"`` or ``"vb"``.
    fixed : str
        patsy formula of the population-level part, ``"y ~ x1 + x2"``.
    groups : str or None
        MixedLM grouping column (``_pybrms_all`` for crossed designs).
    re_formula : str or None
        MixedLM's random-effects formula within ``groups`` (``"1"``, ``"0"``, ``"~x"``).
    vc : dict
        Variance components: name (the brms factor, e.g. ``"a:b"``) -> patsy formula.
    combined : dict
        Helper columns to add: column name -> list of factors joined with ``:``.

    """

    kind: str
    fixed: str
    groups: str | None = None
    re_formula: str | None = None
    vc: dict[str, str] = field(default_factory=dict)
    combined: dict[str, list[str]] = field(default_factory=dict)


def _factor_column(factor: str, combined: dict[str, list[str]]) -> str:
    parts = [p.strip() for p in factor.split(":")]
    if len(parts) == 1:
        return parts[0]
    name = "_pybrms_" + "_".join(parts)
    combined[name] = parts
    return name


def _is_intercept_only(g: GroupTerm) -> bool:
    return g.lhs.replace(" ", "") in ("1", "1+0", "0+1")


def _term_text(g: GroupTerm) -> str:
    return f"({g.lhs} {'|' if g.correlated else '||'} {g.group})"


def plan(formula: str | Formula, family: str | Family = "gaussian") -> Plan:
    """Map a brms formula and family onto a statsmodels model, or say what cannot be mapped.

    Parameters
    ----------
    formula : str or Formula
        A brms formula.
    family : str or Family
        ``gaussian`` (identity link) or ``bernoulli`` (logit link).

    Returns
    -------
    Plan

    Raises
    ------
    EngineError
        Naming the family, link, addition term or group-level term statsmodels cannot fit.

    """
    parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
    fam = parse_family(family)
    if fam.name == "gaussian":
        if fam.link != "identity":
            raise EngineError(
                f"engine statsmodels fits gaussian only with link 'identity', not {fam.link!r}"
            )
        kind = "mixedlm"
    elif fam.name == "bernoulli":
        if fam.link != "logit":
            raise EngineError(
                f"engine statsmodels fits bernoulli only with link 'logit', not {fam.link!r}"
            )
        kind = "vb"
    else:
        raise EngineError(
            f"engine statsmodels cannot fit family {fam.name!r}: it has MixedLM for gaussian "
            "and a variational Bayes approximation (BinomialBayesMixedGLM) for bernoulli only"
        )
    if parsed.addition:
        raise EngineError(
            f"engine statsmodels cannot express the addition term(s) "
            f"{', '.join(f'{k}({v})' for k, v in parsed.addition.items())} in {parsed.text!r}"
        )
    if parsed.is_cbind:
        raise EngineError(f"engine statsmodels cannot fit the response {parsed.response!r}")
    for term in parsed.fixed:
        if "^" in term or re.search(r"(?<![A-Za-z0-9_.])(mo|s|t2|gp|me|mi|cs)\s*\(", term):
            raise EngineError(
                f"engine statsmodels cannot express the population-level term {term!r} "
                "(brms/R syntax that patsy reads differently)"
            )
    if not parsed.groups:
        raise EngineError(
            f"engine statsmodels: {parsed.text!r} has no group-level term; pybrms compares "
            "mixed models only"
        )
    fixed = f"{parsed.response} ~ {' + '.join(parsed.fixed)}"
    combined: dict[str, list[str]] = {}
    pairs = [(g, fac) for g in parsed.groups for fac in g.factors]
    for g, _ in pairs:
        if not g.correlated and not _is_intercept_only(g):
            raise EngineError(
                f"engine statsmodels cannot express the uncorrelated varying slopes {_term_text(g)}"
            )

    if kind == "vb":
        for g, _ in pairs:
            if not _is_intercept_only(g):
                raise EngineError(
                    f"engine statsmodels (BinomialBayesMixedGLM) fits random intercepts only; "
                    f"cannot express {_term_text(g)}"
                )
        vc = {fac: f"0 + C({_factor_column(fac, combined)})" for _, fac in pairs}
        return Plan(kind="vb", fixed=fixed, vc=vc, combined=combined)

    slopes = [(g, fac) for g, fac in pairs if not _is_intercept_only(g)]
    tops = {fac.split(":")[0].strip() for _, fac in pairs}
    if slopes:
        g0, fac0 = slopes[0]
        if len(slopes) > 1 or ":" in fac0 or len(tops) > 1 or len(g0.factors) > 1:
            raise EngineError(
                f"engine statsmodels cannot express the varying slopes {_term_text(g0)} "
                "together with other grouping factors (crossed or nested): MixedLM allows "
                "correlated slopes for a single grouping factor only"
            )
        re_formula = "~" + g0.lhs  # patsy reads "1 + x", "x" and "0 + x" as R does
        vc = {fac: f"0 + C({_factor_column(fac, combined)})" for _, fac in pairs if fac != fac0}
        return Plan("mixedlm", fixed, groups=fac0, re_formula=re_formula, vc=vc, combined=combined)

    if len(tops) == 1:  # random intercepts nested in one factor: groups = that factor
        top = tops.pop()
        facs = [fac for _, fac in pairs]
        vc = {fac: f"0 + C({_factor_column(fac, combined)})" for fac in facs if fac != top}
        re_formula = "1" if top in facs else "0"
        return Plan("mixedlm", fixed, groups=top, re_formula=re_formula, vc=vc, combined=combined)

    vc = {fac: f"0 + C({_factor_column(fac, combined)})" for _, fac in pairs}
    return Plan("mixedlm", fixed, groups=_ONES, re_formula="0", vc=vc, combined=combined)


def check(formula: str, family: str | Family = "gaussian") -> None:
    """Raise :class:`~pybrms.errors.EngineError` if statsmodels cannot fit ``formula``/``family``."""
    plan(formula, family)


_PATSY_LEVEL = re.compile(r"(?:C\()?([A-Za-z_.][A-Za-z0-9_.]*)\)?\[T\.([^\]]*)\]")


def brms_term_name(name: str) -> str:
    """Name a patsy column as brms/R would: ``period[T.2]`` -> ``period2``,
    ``male[T.True]`` -> ``maleTRUE``; ``Intercept`` stays.
    """

    def level(m: re.Match[str]) -> str:
        lev = {"True": "TRUE", "False": "FALSE"}.get(m.group(2), m.group(2))
        return m.group(1) + lev

    out = _PATSY_LEVEL.sub(level, name)
    for char in (" ", "(", ")", "[", "]", ",", '"', "'", "?"):
        out = out.replace(char, "")
    for char, repl in (("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("=", "EQ")):
        out = out.replace(char, repl)
    return out


class StatsmodelsFit:
    """A statsmodels fit of a brms formula.

    Attributes
    ----------
    result : statsmodels results
        ``MixedLMResults`` or ``BayesMixedGLMResults``.
    engine : str
        ``"statsmodels"`` (MixedLM, REML) or ``"statsmodels-vb"`` (variational Bayes).
    plan : Plan
        How the formula was mapped.
    warnings : list of str
        Warnings statsmodels raised during the fit (e.g. convergence).
    provenance : dict
        Engine, method, versions, formula, mapping, rows, timing, warnings.

    """

    def __init__(
        self,
        result: Any,
        engine: str,
        formula: str,
        fit_plan: Plan,
        fit_warnings: list[str],
        provenance: dict,
    ) -> None:
        self.result = result
        self.engine = engine
        self.formula = formula
        self.plan = fit_plan
        self.warnings = list(fit_warnings)
        self.provenance = provenance

    @property
    def variance_components(self) -> pd.DataFrame:
        """Group-level SDs: ``name`` (brms factor or ``Residual``) and ``sd``."""
        r = self.result
        if self.engine == VB_NAME:
            names = list(r.model.vcp_names)
            return pd.DataFrame({"name": names, "sd": np.exp(np.asarray(r.vcp_mean, float))})
        rows = []
        cov = np.asarray(r.cov_re)
        for i, n in enumerate(r.cov_re.columns if hasattr(r.cov_re, "columns") else []):
            label = "Intercept" if n in ("Group", self.plan.groups) else n
            rows.append({"name": f"{self.plan.groups}:{label}", "sd": float(np.sqrt(cov[i, i]))})
        for n, v in zip(r.model.exog_vc.names, np.asarray(r.vcomp, float), strict=True):
            rows.append({"name": n, "sd": float(np.sqrt(v))})
        rows.append({"name": "Residual", "sd": float(np.sqrt(r.scale))})
        return pd.DataFrame(rows)

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Population-level effects in the shared tidy schema.

        MixedLM (engine ``statsmodels``): REML estimates, SEs, Wald z statistic, two-sided
        p-value and Wald interval at ``conf_level``. Variational Bayes (engine
        ``statsmodels-vb``): the approximate posterior mean and SD and the central interval
        of that normal approximation; ``statistic`` and ``p_value`` are left empty.
        """
        from scipy.stats import norm

        if not 0 < conf_level < 1:
            raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
        z = float(norm.ppf(1 - (1 - conf_level) / 2))
        r = self.result
        if self.engine == VB_NAME:
            names = list(r.model.fep_names)
            est = np.asarray(r.fe_mean, float)
            se = np.asarray(r.fe_sd, float)
            stat = p = np.full(len(names), np.nan)
        else:
            names = list(r.model.exog_names)
            k = len(names)
            est = np.asarray(r.fe_params, float)
            se = np.asarray(r.bse_fe, float)
            stat = est / se
            p = np.asarray(r.pvalues, float)[:k]
        return tidy_frame(
            {
                "term": [brms_term_name(n) for n in names],
                "estimate": est,
                "std_error": se,
                "conf_low": est - z * se,
                "conf_high": est + z * se,
                "conf_level": conf_level,
                "statistic": stat,
                "p_value": p,
                "engine": self.engine,
                "model": self.formula,
            }
        )

    def __repr__(self) -> str:
        return f"<StatsmodelsFit {self.formula!r} engine={self.engine}>"


def fit(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    *,
    reml: bool = True,
    method: str | list[str] | None = None,
    fe_p: float = 2.0,
    vcp_p: float = 1.0,
    weights: Any = None,
) -> StatsmodelsFit:
    """Fit ``formula`` with statsmodels.

    Parameters
    ----------
    formula : str
        A brms formula (see :func:`plan` for what can be expressed).
    data : DataFrame
        The data; checked as for brms.
    family : str or Family
        ``gaussian`` (MixedLM) or ``bernoulli`` (variational Bayes).
    reml : bool
        REML (default, as lme4's ``lmer``) or ML, for MixedLM.
    method : str or list of str, optional
        MixedLM optimizer(s), passed to ``MixedLM.fit``.
    fe_p, vcp_p : float
        BinomialBayesMixedGLM's prior SDs of the fixed effects and of the log SDs of the
        variance components (statsmodels's defaults 2 and 1), recorded in the provenance.
    weights : optional
        Refused: MixedLM has no observation weights.

    Returns
    -------
    StatsmodelsFit

    Raises
    ------
    EngineError
        For weights or a formula/family statsmodels cannot express.
    SpecError, DataError
        For a malformed formula or data that does not fit it.

    """
    import statsmodels
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    from statsmodels.regression.mixed_linear_model import MixedLM

    if weights is not None:
        raise EngineError("engine statsmodels does not take weights (MixedLM has none)")
    parsed = parse_formula(formula)
    fam = parse_family(family)
    p = plan(parsed, fam)
    validate_data(parsed, fam, data)
    frame = data.loc[:, sorted(parsed.variables)].reset_index(drop=True).copy()
    for name, parts in p.combined.items():
        frame[name] = frame[parts[0]].astype(str)
        for part in parts[1:]:
            frame[name] = frame[name] + ":" + frame[part].astype(str)
    if p.groups == _ONES:
        frame[_ONES] = 1

    t0 = time.perf_counter()
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if p.kind == "mixedlm":
            model = MixedLM.from_formula(
                p.fixed,
                data=frame,
                groups=p.groups,
                re_formula=p.re_formula,
                vc_formula=p.vc or None,
            )
            kwargs: dict[str, Any] = {"reml": reml}
            if method is not None:
                kwargs["method"] = method
            result = model.fit(**kwargs)
            engine, how = NAME, ("REML" if reml else "ML")
        else:
            y = parsed.response
            if frame[y].dtype == bool:
                frame[y] = frame[y].astype(float)
            model = BinomialBayesMixedGLM.from_formula(p.fixed, p.vc, frame, vcp_p=vcp_p, fe_p=fe_p)
            result = model.fit_vb()
            engine, how = VB_NAME, VB_METHOD
    for w in record:
        text = " ".join(str(w.message).split())
        if text not in caught:
            caught.append(text)
    seconds = time.perf_counter() - t0
    for text in caught:
        warnings.warn(f"statsmodels ({formula}): {text}", UserWarning, stacklevel=2)
    prov: dict[str, Any] = {
        "engine": engine,
        "method": how,
        "versions": {"statsmodels": statsmodels.__version__},
        "formula": formula,
        "family": fam.r_call(),
        "mapping": {
            "model": "MixedLM" if p.kind == "mixedlm" else "BinomialBayesMixedGLM",
            "fixed": p.fixed,
            "groups": None if p.groups == _ONES else p.groups,
            "single_group_for_crossed": p.groups == _ONES,
            "re_formula": p.re_formula,
            "vc_formula": dict(p.vc),
        },
        "n_rows": int(len(frame)),
        "warnings": caught,
        "timing_seconds": {"fit": round(seconds, 3)},
    }
    if p.kind == "vb":
        prov["priors"] = {"fixed_effects_sd": fe_p, "log_sd_sd": vcp_p}
    elif not getattr(result, "converged", True):
        caught.append("MixedLM did not converge")
    return StatsmodelsFit(result, engine, formula, p, caught, prov)
