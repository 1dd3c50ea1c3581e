"""The statsmodels engine: ``MixedLM`` for gaussian models, a labelled VB approximation for binary.

* **gaussian** -> :class:`statsmodels.regression.mixed_linear_model.MixedLM` by REML (as lme4's
  ``lmer``), engine label ``"statsmodels"``. Group-level terms are mapped to MixedLM's
  structure: one factor with correlated varying effects ``(1 + x | g)`` becomes
  ``groups = g, re_formula = "~x"``; random intercepts nested in one factor ``(1 | a/b)``
  become ``groups = a`` plus a variance component for ``a:b``; crossed random intercepts
  ``(1 | a) + (1 | c)`` become variance components within a single all-ones group.
* **bernoulli** -> :class:`statsmodels.genmod.bayes_mixed_glm.BinomialBayesMixedGLM` fitted by
  ``fit_vb()``: a *variational Bayes* approximation to a posterior under statsmodels's own
  normal priors, **not maximum likelihood**. Its rows carry the
  ``method`` "variational Bayes ...", and the provenance says what the numbers are. It has no
  p-values.

Anything MixedLM cannot express (random slopes on crossed factors, uncorrelated ``||`` slopes,
binomial with trials, poisson, other links) raises :class:`~pybrms.errors.EngineError`
naming the term or family.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import EngineError, StatsmodelsWarning
from ..results import FitResult, make_provenance, ran_pars_row, wald_rows
from ..spec.families import Family, parse_family
from ..spec.formula import Formula, GroupTerm, brms_only_calls, parse_formula
from ..spec.model import FitSpec
from ..spec.naming import SIGMA, brms_term_name, cor_name, sd_name
from .base import Capabilities, EngineOptions, named_in_python

NAME = "statsmodels"
name = NAME
capabilities = Capabilities(frequentist=True)
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
    if not parsed.is_plain:
        raise EngineError(
            f"engine statsmodels cannot fit brms's model language (bf(), + lf(), mvbind()...): "
            f"{parsed.text!r}; only brms can"
        )
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
        if "^" in term or brms_only_calls(term):
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


def check(spec: FitSpec) -> None:
    """Raise :class:`~pybrms.errors.EngineError` if statsmodels cannot fit ``spec``."""
    plan(spec.formula, spec.family)


def preflight(spec: FitSpec, opts: StatsmodelsOptions | None = None) -> list[str] | None:
    """:func:`check`, and the population-level coefficients the fit will report
    (:func:`~pybrms.engines.base.named_in_python`). Starts nothing.
    """
    check(spec)
    return named_in_python(spec)


@dataclass(frozen=True)
class StatsmodelsOptions(EngineOptions):
    """Options of the statsmodels engine.

    Attributes
    ----------
    reml : bool
        REML (default, as lme4's ``lmer``) or ML, for MixedLM.
    optimizer : str or list of str, optional
        MixedLM optimizer(s), passed to ``MixedLM.fit(method=...)``.
    fe_p, vcp_p : float
        BinomialBayesMixedGLM's prior SDs of the fixed effects and of the log SDs of the
        variance components (statsmodels's defaults 2 and 1), recorded in the provenance.
    quiet : bool
        As for every engine: no progress output (statsmodels prints none); warnings are
        still kept on ``.warnings`` and emitted as :class:`~pybrms.errors.StatsmodelsWarning`.
    """

    engine: ClassVar[str] = NAME

    reml: bool = True
    optimizer: str | list[str] | None = None
    fe_p: float = 2.0
    vcp_p: float = 1.0

    def validate(self) -> None:
        """Check ``reml`` and the prior SDs."""
        super().validate()
        if not isinstance(self.reml, bool):
            raise EngineError(f"engine statsmodels: reml must be True or False, got {self.reml!r}")
        for key in ("fe_p", "vcp_p"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                raise EngineError(f"engine statsmodels: {key} must be a positive number, got {v!r}")


options = StatsmodelsOptions


class StatsmodelsFit(FitResult):
    """A statsmodels fit of a brms formula (engine ``statsmodels``).

    Attributes
    ----------
    result : statsmodels results
        ``MixedLMResults`` or ``BayesMixedGLMResults``.
    method : str
        ``REML``/``ML`` (MixedLM) or :data:`VB_METHOD` (variational Bayes).
    plan : Plan
        How the formula was mapped.
    warnings : list of str
        Warnings statsmodels raised during the fit (e.g. convergence).
    provenance : dict
        The shared layout; ``details`` holds the mapping (and the VB priors).
    """

    engine = NAME

    def __init__(self, result: Any, method: str, fit_plan: Plan, fit_warnings: list[str],
                 provenance: dict) -> None:
        self.result = result
        self.method = method
        self.plan = fit_plan
        self.warnings = list(fit_warnings)
        self.provenance = provenance

    @property
    def bayesian(self) -> bool:
        """True for the variational Bayes fits (an approximate posterior)."""
        return self.plan.kind == "vb"

    @property
    def converged(self) -> bool:
        """False if MixedLM reported no convergence."""
        return bool(getattr(self.result, "converged", True))

    def _fixed(self, conf_level: float) -> dict[str, Any]:
        """MixedLM: REML/ML estimates, SEs, Wald z, two-sided p and Wald interval. VB: the
        approximate posterior mean and SD and the central interval of that normal
        approximation; no statistic or p-value.
        """
        r = self.result
        if self.plan.kind == "vb":
            names = list(r.model.fep_names)
            return wald_rows([brms_term_name(n) for n in names], r.fe_mean, r.fe_sd, conf_level)
        names = list(r.model.exog_names)
        est = np.asarray(r.fe_params, float)
        se = np.asarray(r.bse_fe, float)
        return wald_rows([brms_term_name(n) for n in names], est, se, conf_level,
                         statistic=est / se, p_value=np.asarray(r.pvalues, float)[: len(names)])

    def _ran_pars(self, conf_level: float) -> list[dict[str, Any]]:
        """Group-level SDs (and correlations of MixedLM's random effects), residual SD, with
        brms's names. VB: ``exp`` of the posterior mean of each log SD.
        """
        r = self.result
        if self.plan.kind == "vb":
            return [ran_pars_row(sd_name(n, "Intercept"), n, float(np.exp(v)))
                    for n, v in zip(r.model.vcp_names, np.asarray(r.vcp_mean, float), strict=True)]
        rows = []
        cov = np.asarray(r.cov_re)
        cols = list(r.cov_re.columns) if hasattr(r.cov_re, "columns") else []
        labels = ["Intercept" if n in ("Group", self.plan.groups) else n for n in cols]
        group = self.plan.groups or ""
        for i, lab in enumerate(labels):
            rows.append(ran_pars_row(sd_name(group, lab), group, float(np.sqrt(cov[i, i]))))
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                corr = cov[i, j] / np.sqrt(cov[i, i] * cov[j, j])
                rows.append(ran_pars_row(cor_name(group, labels[i], labels[j]), group,
                                         float(corr)))
        for n, v in zip(r.model.exog_vc.names, np.asarray(r.vcomp, float), strict=True):
            rows.append(ran_pars_row(sd_name(n, "Intercept"), n, float(np.sqrt(v))))
        rows.append(ran_pars_row(SIGMA, "Residual", float(np.sqrt(r.scale))))
        return rows


def fit(spec: FitSpec, opts: StatsmodelsOptions | None = None) -> StatsmodelsFit:
    """Fit ``spec`` with statsmodels.

    Parameters
    ----------
    spec : FitSpec
        The validated model (see :func:`plan` for what can be expressed).
    opts : StatsmodelsOptions, optional
        statsmodels's options.

    Returns
    -------
    StatsmodelsFit

    Raises
    ------
    EngineError
        For a formula/family statsmodels cannot express.
    """
    import statsmodels
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    from statsmodels.regression.mixed_linear_model import MixedLM

    opts = opts if opts is not None else StatsmodelsOptions()
    parsed = spec.formula
    p = plan(parsed, spec.family)
    frame = spec.data.copy()
    for col, parts in p.combined.items():
        frame[col] = frame[parts[0]].astype(str)
        for part in parts[1:]:
            frame[col] = frame[col] + ":" + frame[part].astype(str)
    if p.groups == _ONES:
        frame[_ONES] = 1

    t0 = time.perf_counter()
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if p.kind == "mixedlm":
            model = MixedLM.from_formula(
                p.fixed, data=frame, groups=p.groups, re_formula=p.re_formula,
                vc_formula=p.vc or None,
            )
            kwargs: dict[str, Any] = {"reml": opts.reml}
            if opts.optimizer is not None:
                kwargs["method"] = opts.optimizer
            result = model.fit(**kwargs)
            how = "REML" if opts.reml else "ML"
        else:
            y = parsed.response
            if frame[y].dtype == bool:
                frame[y] = frame[y].astype(float)
            model = BinomialBayesMixedGLM.from_formula(p.fixed, p.vc, frame, vcp_p=opts.vcp_p,
                                                       fe_p=opts.fe_p)
            result = model.fit_vb()
            how = VB_METHOD
    for w in record:
        text = " ".join(str(w.message).split())
        if text not in caught:
            caught.append(text)
    if p.kind == "mixedlm" and not getattr(result, "converged", True):
        caught.append("MixedLM did not converge")
    seconds = time.perf_counter() - t0
    for text in caught:
        warnings.warn(f"statsmodels ({parsed.text}): {text}", StatsmodelsWarning, stacklevel=2)
    details: dict[str, Any] = {
        "mapping": {
            "model": "MixedLM" if p.kind == "mixedlm" else "BinomialBayesMixedGLM",
            "fixed": p.fixed,
            "groups": None if p.groups == _ONES else p.groups,
            "single_group_for_crossed": p.groups == _ONES,
            "re_formula": p.re_formula,
            "vc_formula": dict(p.vc),
        },
    }
    if p.kind == "vb":
        details["priors"] = {"fixed_effects_sd": opts.fe_p, "log_sd_sd": opts.vcp_p}
    prov = make_provenance(
        engine=NAME, method=how, versions={"statsmodels": statsmodels.__version__}, spec=spec,
        options=opts.record(), timing_seconds={"fit": round(seconds, 3)}, warnings=caught,
        details=details,
    )
    return StatsmodelsFit(result, how, p, caught, prov)
