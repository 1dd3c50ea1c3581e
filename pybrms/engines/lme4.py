"""The lme4 engine: ``lmerTest::lmer`` and ``lme4::glmer``, called as an R script calls them.

A brms formula is translated into lme4's only where the two differ: ``y | trials(n)``
becomes ``cbind(y, n - y)``, and family ``bernoulli`` becomes ``binomial``. Group-level
terms (``(1 | a/b)``, crossed ``(1 | g)``, ``(x || g)``) mean the same in both and pass
through unchanged. brms-only syntax (``(1 | ID | g)``, ``mo()``, ``s()``, ``gr()``...) is
refused by :func:`check` with an :class:`~pybrms.errors.EngineError` naming the term.

Gaussian models are fitted with ``lmerTest::lmer`` (REML; Satterthwaite degrees of freedom
and p-values), the others with ``lme4::glmer`` (Laplace, or adaptive Gauss-Hermite with
``nagq > 1``; Wald z tests). The data reach R through :mod:`pybrms.bridge` exactly as R
itself would hold them after ``read.csv``: text columns are character vectors (so lme4 makes
factors with R's own sorted levels), pandas categoricals are factors with their declared
level order, and nothing depends on Python's hash seed. Only the used columns are sent, and
nothing beyond the tidy results is computed after the fit (``r/lme4.R``), so a fit costs what
the same call costs in R. lme4's convergence and singular-fit messages are kept on
:attr:`Lme4Fit.warnings`, emitted as :class:`~pybrms.errors.Lme4Warning` and written into the
provenance.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from .. import bridge
from ..errors import EngineError, Lme4Warning, RError
from ..results import FitResult, make_provenance, order_ran_pars, ran_pars_row, wald_rows
from ..spec.families import Family, parse_family
from ..spec.formula import Formula, brms_only_calls, parse_formula
from ..spec.model import FitSpec
from ..spec.naming import SIGMA, brms_term_name, cor_name, sd_name
from .base import Capabilities, EngineOptions, named_in_python

NAME = "lme4"
name = NAME
capabilities = Capabilities(frequentist=True, exact=True)

#: the ``fast=True`` preset (issue 3: 117 s -> 24 s on the paper's data, same estimates)
FAST_CONTROL = 'optimizer = "nloptwrap", calc.derivs = FALSE'

#: brms family -> (R family glmer takes, the links R's family accepts); gaussian with the
#: identity link is lmer's
_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gaussian": ("gaussian", ("identity",)),
    "bernoulli": ("binomial", ("logit", "probit", "cauchit", "cloglog")),
    "binomial": ("binomial", ("logit", "probit", "cauchit", "cloglog")),
    "poisson": ("poisson", ("log", "identity", "sqrt")),
    "Gamma": ("Gamma", ("inverse", "identity", "log")),
}



def translate(formula: str | Formula, family: str | Family = "gaussian") -> tuple[str, str]:
    """Translate a brms formula and family into an lme4 formula and R family.

    Parameters
    ----------
    formula : str or Formula
        A brms formula such as ``"s | trials(n) ~ x + (1 | a/b) + (1 | c)"``.
    family : str or Family
        A brms family: gaussian (identity link), bernoulli, binomial, poisson or Gamma with
        a link R's family accepts.

    Returns
    -------
    (str, str)
        The lme4 formula (``"cbind(s, n - s) ~ x + (1 | a/b) + (1 | c)"``) and the family
        as R code for ``glmer`` (``'binomial(link = "logit")'``), or ``"gaussian"`` for
        ``lmer``.

    Raises
    ------
    EngineError
        Naming the family, link, addition term or formula term lme4 cannot fit here.

    """
    parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
    if not parsed.is_plain:
        raise EngineError(
            f"engine lme4 cannot fit brms's model language (bf(), + lf(), mvbind()...): "
            f"{parsed.text!r}; only brms can"
        )
    fam = parse_family(family)
    if fam.name not in _FAMILIES:
        raise EngineError(
            f"engine lme4 cannot fit family {fam.name!r}; it fits {', '.join(_FAMILIES)}"
        )
    r_name, links = _FAMILIES[fam.name]
    if fam.link not in links:
        raise EngineError(
            f"engine lme4 fits family {fam.name!r} with link {' or '.join(map(repr, links))}, "
            f"not {fam.link!r}"
        )
    r_family = "gaussian" if r_name == "gaussian" else f'{r_name}(link = "{fam.link}")'
    extra = sorted(set(parsed.addition) - {"trials"})
    if "weights" in extra:
        raise EngineError(
            "engine lme4 cannot use brms's weights(...): brms multiplies each observation's "
            "log-likelihood by its weight, which lme4's prior weights do not reproduce"
        )
    if extra:
        raise EngineError(
            f"engine lme4 cannot express the addition term(s) {', '.join(extra)}(...) "
            f"in {parsed.text!r}"
        )
    rhs = parsed.text.split("~", 1)[1].strip()
    for term in parsed.fixed:
        calls = brms_only_calls(term)
        if calls:
            raise EngineError(
                f"engine lme4 cannot express the brms term {term!r} ({calls[0]}() is brms-only)"
            )
    for g in parsed.groups:
        if g.cor_id:
            raise EngineError(
                f"engine lme4 cannot express the group-level term {g.text!r}: correlation "
                "IDs '(lhs | ID | group)' are brms-only"
            )
        if brms_only_calls(g.lhs) or brms_only_calls(g.group):
            raise EngineError(
                f"engine lme4 cannot express the group-level term ({g.lhs} | {g.group})"
            )
    if any(g.gr for g in parsed.groups):
        raise EngineError("engine lme4 cannot express brms's gr(...) grouping; write (1 | g)")

    response = parsed.response
    if fam.name == "binomial":
        if "trials" in parsed.addition:
            if parsed.is_cbind:
                raise EngineError("use either cbind(successes, failures) or trials(n), not both")
            n = parsed.addition["trials"]
            n_expr = n if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*|[0-9]+", n) else f"({n})"
            y_expr = (
                response if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", response) else f"({response})"
            )
            response = f"cbind({response}, {n_expr} - {y_expr})"
        elif not parsed.is_cbind:
            raise EngineError(
                f"family binomial needs 'y | trials(n)' or 'cbind(successes, failures)'; "
                f"got response {parsed.response!r}"
            )
    elif parsed.addition:
        raise EngineError(f"addition term trials(...) needs family binomial, not {fam.name!r}")
    return f"{response} ~ {rhs}", r_family


def check(spec: FitSpec) -> None:
    """Raise :class:`~pybrms.errors.EngineError` if lme4 cannot fit ``spec``."""
    translate(spec.formula, spec.family)


def preflight(spec: FitSpec, opts: Lme4Options | None = None) -> list[str] | None:
    """:func:`check`, and the population-level coefficients the fit will report
    (:func:`~pybrms.engines.base.named_in_python`). Starts nothing.
    """
    check(spec)
    return named_in_python(spec)


@dataclass(frozen=True)
class Lme4Options(EngineOptions):
    """Options of the lme4 engine.

    Attributes
    ----------
    reml : bool
        REML for gaussian models (lme4's default); ``glmer`` has no REML.
    nagq : int, optional
        Adaptive Gauss-Hermite quadrature points for ``glmer`` (default lme4's 1, Laplace);
        ``nagq > 1`` needs a single scalar random-effect term (an lme4 rule, checked here).
    fast : bool
        ``glmerControl(optimizer = "nloptwrap", calc.derivs = FALSE)``.
    control : str, optional
        Arguments of ``lmerControl()``/``glmerControl()`` as R code, e.g.
        ``'optimizer = "bobyqa"'``. Not with ``fast``.
    quiet : bool
        As for every engine: no progress output (lme4 prints none); lme4's messages are still
        kept on ``.warnings`` and emitted as :class:`~pybrms.errors.Lme4Warning`.
    """

    engine: ClassVar[str] = NAME

    reml: bool = True
    nagq: int | None = None
    fast: bool = False
    control: str | None = None

    def validate(self) -> None:
        """Check ``nagq``, ``reml`` and ``fast`` + ``control``."""
        super().validate()
        if not isinstance(self.reml, bool):
            raise EngineError(f"engine lme4: reml must be True or False, got {self.reml!r}")
        if self.fast and self.control:
            raise EngineError("engine lme4: give either fast=True or control=..., not both")
        n = self.nagq
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
            raise EngineError(f"engine lme4: nagq must be a non-negative integer, got {n!r}")


options = Lme4Options


class Lme4Fit(FitResult):
    """An lme4 fit (engine ``lme4``).

    Attributes
    ----------
    r : rpy2 object
        The fitted ``merMod`` (``lmerModLmerTest`` for gaussian models), for anything else
        lme4 offers.
    coefs : DataFrame
        lme4's coefficient table with lme4's term and column names.
    varcorr : DataFrame
        ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor.
    r_formula : str
        The lme4 formula actually fitted.
    warnings : list of str
        lme4's convergence and singular-fit messages and any R warning of the fit.
    provenance : dict
        The shared layout; ``details`` holds the R function, lme4 formula, control, nAGQ.
    """

    engine = NAME

    def __init__(self, r: Any, coefs: pd.DataFrame, varcorr: pd.DataFrame, r_formula: str,
                 method: str, fit_warnings: list[str], singular: bool,
                 provenance: dict) -> None:
        self.r = r
        self.coefs = coefs
        self.varcorr = varcorr
        self.r_formula = r_formula
        self.method = method
        self.warnings = list(fit_warnings)
        self._singular = singular
        self.provenance = provenance

    @property
    def singular(self) -> bool:
        """True if lme4 found a boundary (singular) fit."""
        return self._singular

    @property
    def converged(self) -> bool:
        """False if lme4 reported a convergence failure."""
        return not any("converge" in w.lower() for w in self.warnings)

    def _fixed(self, conf_level: float) -> dict[str, Any]:
        """lme4's estimates and SEs, the Wald interval (``confint(method = "Wald")``),
        lmerTest's t (gaussian) or glmer's z, and the two-sided p-value (Satterthwaite
        degrees of freedom for gaussian models).
        """
        c = self.coefs
        stat_col = next(col for col in c.columns if col.endswith(" value"))
        p_col = next((col for col in c.columns if col.startswith("Pr(")), None)
        return wald_rows(
            [brms_term_name(str(t)) for t in c.index], c["Estimate"], c["Std. Error"],
            conf_level, statistic=c[stat_col],
            p_value=c[p_col] if p_col else None,
        )

    def _ran_pars(self, conf_level: float) -> list[dict[str, Any]]:
        """SDs and correlations from ``VarCorr`` with brms's names; no interval (lme4 has
        none without profiling or bootstrap).
        """
        rows = []
        for rec in self.varcorr.itertuples(index=False):
            grp, var1, var2, sdcor = rec.grp, rec.var1, rec.var2, float(rec.sdcor)
            if grp == "Residual":
                rows.append(ran_pars_row(SIGMA, "Residual", sdcor))
                continue
            group = _brms_group(str(grp))
            if pd.isna(var2):
                rows.append(ran_pars_row(sd_name(group, str(var1)), group, sdcor))
            else:
                rows.append(ran_pars_row(cor_name(group, str(var1), str(var2)), group, sdcor))
        return order_ran_pars(rows)


def _brms_group(grp: str) -> str:
    """lme4's group name as brms names it: ``b:a`` (nesting in ``a/b``) -> ``a:b``;
    ``g.1`` (the second block of ``(x || g)``) -> ``g``.
    """
    grp = re.sub(r"\.\d+$", "", grp)
    return ":".join(reversed(grp.split(":")))


def fit(spec: FitSpec, opts: Lme4Options | None = None) -> Lme4Fit:
    """Fit ``spec`` with lme4.

    Parameters
    ----------
    spec : FitSpec
        The validated model; see :func:`translate` for what changes on the way to lme4.
    opts : Lme4Options, optional
        lme4's options (defaults: lme4's).

    Returns
    -------
    Lme4Fit

    Raises
    ------
    EngineError
        For an inexpressible formula/family or bad options.
    RError
        If lme4 fails; carries R's message (R's exception kept as the cause).
    """
    opts = opts if opts is not None else Lme4Options()
    parsed, fam = spec.formula, spec.family
    r_formula, r_family = translate(parsed, fam)
    nagq = opts.nagq
    if nagq is not None:
        if r_family == "gaussian":
            raise EngineError("engine lme4: nagq applies to glmer only, not to a gaussian lmer")
        if nagq > 1 and (
            len(parsed.groups) != 1
            or len(parsed.groups[0].factors) != 1
            or parsed.groups[0].lhs.replace(" ", "") not in ("1", "1+0")
        ):
            raise EngineError(
                f"engine lme4: nagq = {nagq} > 1 needs a single scalar random effect "
                f"such as (1 | g); {parsed.text!r} has "
                f"{', '.join(f'({g.lhs} | {g.group})' for g in parsed.groups) or 'none'}"
            )
    control = FAST_CONTROL if opts.fast else (opts.control or "")

    t0 = time.perf_counter()
    try:
        out = bridge.call("pybrms_lme4_fit", r_formula, spec.data, r_family, bool(opts.reml),
                          control, nagq, feature="core")
    except RError as exc:
        raise RError(f"lme4 failed on {r_formula!r}: {exc.r_message}",
                     r_message=exc.r_message) from exc
    seconds = time.perf_counter() - t0
    parts = dict(zip(out.names, out, strict=True))
    terms = [str(t) for t in parts["terms"]]
    if not terms:
        raise EngineError(f"engine lme4: {r_formula!r} has no population-level effects to report")
    coefs = pd.DataFrame(bridge.r_matrix(parts["coefs"]),
                         columns=[str(c) for c in parts["coef_names"]], index=terms)
    varcorr = bridge.to_pandas(parts["varcorr"])
    fit_warnings: list[str] = []
    for w in [*bridge.to_py_list(parts["messages"]), *bridge.to_py_list(parts["warnings"])]:
        w = " ".join(str(w).split())
        if w and w not in fit_warnings:
            fit_warnings.append(w)
    for w in fit_warnings:
        warnings.warn(f"lme4 ({r_formula}): {w}", Lme4Warning, stacklevel=2)
    if r_family == "gaussian":
        method = "REML" if opts.reml else "ML"
    elif nagq == 0:
        method = "ML (nAGQ = 0: fixed effects estimated in the penalized IRLS step)"
    elif nagq is None or nagq == 1:
        method = "ML (Laplace approximation)"
    else:
        method = f"ML (adaptive Gauss-Hermite quadrature, nAGQ = {nagq})"
    prov = make_provenance(
        engine=NAME, method=method, versions=r_versions(), spec=spec,
        options=opts.record(), timing_seconds={"fit": round(seconds, 3)},
        warnings=fit_warnings,
        details={
            "function": "lmerTest::lmer" if r_family == "gaussian" else "lme4::glmer",
            "r_formula": r_formula, "r_family": r_family, "control": control,
            "nAGQ": 1 if nagq is None else nagq,
        },
    )
    singular = bool(bridge.to_py(parts["singular"]))
    return Lme4Fit(parts["model"], coefs, varcorr, r_formula, method, fit_warnings, singular,
                   prov)


_versions: dict[str, str] | None = None


def r_versions() -> dict[str, str]:
    """R, lme4, lmerTest and Matrix versions of the R session."""
    global _versions
    if _versions is None:
        v = bridge.to_py(bridge.call("pybrms_lme4_versions", feature="core"))
        _versions = {str(k): str(val) for k, val in v.items()}
    return dict(_versions)


__all__ = [
    "FAST_CONTROL",
    "NAME",
    "Lme4Fit",
    "Lme4Options",
    "Lme4Warning",
    "check",
    "fit",
    "preflight",
    "r_versions",
    "translate",
]
