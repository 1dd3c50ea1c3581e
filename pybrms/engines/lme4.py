"""The lme4 engine: ``lmer``/``glmer`` through pymer4 0.8.2, with brms's formula syntax.

A brms formula is translated into lme4's only where the two differ: ``y | trials(n)``
becomes ``cbind(y, n - y)``, and family ``bernoulli`` becomes ``binomial``. Group-level
terms (``(1 | a/b)``, crossed ``(1 | g)``, ``(x || g)``) mean the same in both and pass
through unchanged. brms-only syntax (``(1 | ID | g)``, ``mo()``, ``s()``, ``gr()``...) is
refused by :func:`check` with an :class:`~pybrms.errors.EngineError` naming the term.

Gaussian models are fitted with ``lmerTest::lmer`` (REML; Satterthwaite degrees of freedom
and p-values), the others with ``lme4::glmer`` (Laplace, or adaptive Gauss-Hermite with
``nAGQ > 1``; Wald z tests). Convergence and singular-fit messages lme4 records are kept on
the result's :attr:`Lme4Fit.warnings`, re-emitted as :class:`Lme4Warning`, and written into
the provenance, so they are never lost.

All Python <-> R conversion goes through pymer4 (its ``Lmer`` class); the only direct R call
here is :func:`r_versions`, which reads package versions in pymer4's R session.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..bridge import capture_console, load_rpy2, r_warnings
from ..errors import EngineError, RError, RWarning
from ..results import tidy_frame
from ..spec.families import Family, parse_family
from ..spec.formula import Formula, parse_formula
from ..spec.validate import validate_data

NAME = "lme4"

#: the ``fast=True`` preset (issue 3: 117 s -> 24 s on the paper's data, same estimates)
FAST_CONTROL = 'optimizer = "nloptwrap", calc.derivs = FALSE'

#: brms family -> (pymer4/lme4 family, the only link pymer4 0.8.2 can fit)
_FAMILIES: dict[str, tuple[str, str]] = {
    "gaussian": ("gaussian", "identity"),
    "bernoulli": ("binomial", "logit"),
    "binomial": ("binomial", "logit"),
    "poisson": ("poisson", "log"),
}

#: brms-only special terms that lme4 formulas cannot express
_BRMS_ONLY_CALLS = (
    "mo",
    "s",
    "t2",
    "gp",
    "me",
    "mi",
    "cs",
    "mm",
    "mmc",
    "car",
    "ar",
    "arma",
    "ma",
    "cosy",
    "sar",
    "lasso",
    "horseshoe",
    "gr",
    "cse",
)
_CALL = re.compile(r"(?<![A-Za-z0-9._])(" + "|".join(_BRMS_ONLY_CALLS) + r")\s*\(")
#: brms's ``(1 | ID | g)``: a correlation ID shared between group-level terms
_ID_TERM = re.compile(r"\([^()|]*\|\s*[^()|\s][^()|]*\|[^()|]*\)")


class Lme4Warning(UserWarning):
    """A convergence, singular-fit or other message lme4 recorded for a fit."""


def brms_term_name(term: str) -> str:
    """Name a population-level term as brms does.

    ``(Intercept)`` becomes ``Intercept``; elsewhere brms's ``rename()`` rules apply
    (spaces, brackets, quotes and commas dropped; ``+ - * / ^ =`` spelled ``P M MU D E EQ``),
    so ``I(x^2)`` becomes ``IxE2`` while ``maleTRUE:TOXICITY`` is unchanged.
    """
    if term == "(Intercept)":
        return "Intercept"
    out = term
    for char in (" ", "(", ")", "[", "]", ",", '"', "'", "?"):
        out = out.replace(char, "")
    for char, repl in (("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("^", "E"), ("=", "EQ")):
        out = out.replace(char, repl)
    return out


def translate(formula: str | Formula, family: str | Family = "gaussian") -> tuple[str, str]:
    """Translate a brms formula and family into an lme4 formula and pymer4 family.

    Parameters
    ----------
    formula : str or Formula
        A brms formula such as ``"s | trials(n) ~ x + (1 | a/b) + (1 | c)"``.
    family : str or Family
        A brms family: gaussian, bernoulli, binomial or poisson with their default links.

    Returns
    -------
    (str, str)
        The lme4 formula (``"cbind(s, n - s) ~ x + (1 | a/b) + (1 | c)"``) and the family
        name pymer4 passes to ``glmer`` (``"binomial"``), or ``"gaussian"`` for ``lmer``.

    Raises
    ------
    EngineError
        Naming the family, link, addition term or formula term lme4 cannot fit here.

    """
    parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
    fam = parse_family(family)
    if fam.name not in _FAMILIES:
        raise EngineError(
            f"engine lme4 cannot fit family {fam.name!r}; it fits "
            f"{', '.join(_FAMILIES)} (pymer4 0.8.2)"
        )
    r_family, link = _FAMILIES[fam.name]
    if fam.link != link:
        raise EngineError(
            f"engine lme4 (pymer4 0.8.2) fits family {fam.name!r} only with link {link!r}, "
            f"not {fam.link!r}"
        )
    extra = sorted(set(parsed.addition) - {"trials"})
    if "weights" in extra:
        raise EngineError(
            "engine lme4 cannot use weights(...): pymer4 0.8.2 silently ignores weights, "
            "so pybrms refuses them rather than fit an unweighted model"
        )
    if extra:
        raise EngineError(
            f"engine lme4 cannot express the addition term(s) {', '.join(extra)}(...) "
            f"in {parsed.text!r}"
        )
    rhs = parsed.text.split("~", 1)[1].strip()
    for term in parsed.fixed:
        m = _CALL.search(term)
        if m:
            raise EngineError(
                f"engine lme4 cannot express the brms term {term!r} ({m.group(1)}() is brms-only)"
            )
    m = _ID_TERM.search(rhs)
    if m:
        raise EngineError(
            f"engine lme4 cannot express the group-level term {m.group(0)!r}: correlation "
            "IDs '(lhs | ID | group)' are brms-only"
        )
    for g in parsed.groups:
        if _CALL.search(g.lhs) or _CALL.search(g.group):
            raise EngineError(
                f"engine lme4 cannot express the group-level term ({g.lhs} | {g.group})"
            )
    if "gr(" in rhs.replace(" ", ""):
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


def check(formula: str, family: str | Family = "gaussian") -> None:
    """Raise :class:`~pybrms.errors.EngineError` if lme4 cannot fit ``formula``/``family``."""
    translate(formula, family)


#: what R says when pymer4's import loads lme4 and an (empty) site library is on .libPaths()
_EMPTY_LIBRARY = re.compile(r"library .* contains no packages")


def _import_pymer4() -> Any:
    """Import pymer4 with R started by the bridge and its console captured.

    pymer4 loads lme4, lmerTest and emmeans at import time; R's remarks then (an empty site
    library on ``.libPaths()``) would go straight to the terminal. Those are dropped; any
    other warning is re-raised as :class:`~pybrms.errors.RWarning`.
    """
    load_rpy2()  # starts R the way the bridge does (and restores the loader environment)
    if "pymer4.models" in sys.modules:
        return sys.modules["pymer4"]
    with capture_console() as out:
        import pymer4
        import pymer4.models  # noqa: F401
    for text in r_warnings("".join(out)):
        if not _EMPTY_LIBRARY.search(" ".join(text.split())):
            warnings.warn(text, RWarning, stacklevel=3)
    return pymer4


_versions: dict[str, str] | None = None


def r_versions() -> dict[str, str]:
    """R, lme4, lmerTest and pymer4 versions in the R session pymer4 uses.

    With :data:`_FILL_CONV` (a fix-up pymer4 0.8.2 needs for ``calc.derivs = FALSE``),
    this is the only place this module evaluates R code itself; data conversion is pymer4's.
    """
    global _versions
    if _versions is None:
        ro = load_rpy2()
        pymer4 = _import_pymer4()

        values = ro.r(
            'c(R = paste(R.version$major, R.version$minor, sep = "."), '
            'lme4 = as.character(packageVersion("lme4")), '
            'lmerTest = as.character(packageVersion("lmerTest")))'
        )
        _versions = {str(k): str(v) for k, v in zip(values.names, values, strict=True)}
        _versions["pymer4"] = str(pymer4.__version__)
    return dict(_versions)


#: with ``calc.derivs = FALSE`` lme4 skips its convergence checks and leaves
#: ``optinfo$conv$lme4`` NULL, which pymer4 0.8.2 cannot read; the singular-fit check is
#: re-done here so the fast preset loses no warning.
_FILL_CONV = """function(m) {
  if (is.null(m@optinfo$conv$lme4)) {
    msgs <- if (lme4::isSingular(m)) "boundary (singular) fit: see help('isSingular')" else character(0)
    m@optinfo$conv$lme4 <- list(messages = msgs)
  }
  m
}"""


class _Lme4Shim:
    """Stand-in for pymer4's ``importr("lme4")``: ``glmer`` also passes ``nAGQ`` and, with
    ``calc.derivs = FALSE``, records lme4's skipped singular-fit check.
    """

    def __init__(self, pkg: Any, nagq: int | None) -> None:
        self._pkg = pkg
        self._nagq = nagq

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pkg, name)

    def glmer(self, *args: Any, **kwargs: Any) -> Any:
        import rpy2.robjects as ro

        if self._nagq is not None:
            kwargs["nAGQ"] = self._nagq
        return ro.r(_FILL_CONV)(self._pkg.glmer(*args, **kwargs))

    def lmer(self, *args: Any, **kwargs: Any) -> Any:
        import rpy2.robjects as ro

        return ro.r(_FILL_CONV)(self._pkg.lmer(*args, **kwargs))


@contextlib.contextmanager
def _pymer4_session(nagq: int | None) -> Iterator[list[str]]:
    """Run a pymer4 fit with R's console captured and rpy2's callbacks restored afterwards.

    pymer4 0.8.2 replaces rpy2's warning callback inside ``fit()`` and never restores it,
    and its ``glmer`` call has no ``nAGQ`` argument: both are handled here, for the block only.
    """
    from rpy2.rinterface_lib import callbacks

    lmer_module = sys.modules["pymer4.models.Lmer"]
    original_importr = lmer_module.importr

    def importr(name: str, *args: Any, **kwargs: Any) -> Any:
        pkg = original_importr(name, *args, **kwargs)
        return _Lme4Shim(pkg, nagq) if name in ("lme4", "lmerTest") else pkg

    pieces: list[str] = []
    saved = (callbacks.consolewrite_print, callbacks.consolewrite_warnerror, callbacks.showmessage)
    callbacks.consolewrite_print = pieces.append
    callbacks.consolewrite_warnerror = pieces.append
    callbacks.showmessage = pieces.append
    lmer_module.importr = importr
    try:
        with warnings.catch_warnings():
            # pymer4 0.8.2 uses DataFrame.applymap, deprecated in pandas 2.1
            warnings.filterwarnings("ignore", category=FutureWarning, module="pymer4")
            yield pieces
    finally:
        lmer_module.importr = original_importr
        (
            callbacks.consolewrite_print,
            callbacks.consolewrite_warnerror,
            callbacks.showmessage,
        ) = saved


def _flatten(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        else:
            try:
                out.extend(_flatten(list(item)))
            except TypeError:
                out.append(str(item))
    return out


def _console_warnings(text: str) -> list[str]:
    """Warning texts in R console output.

    Handles R's deferred form (``Warning message(s):`` then ``In f(x) : msg`` items) and the
    immediate form printed under ``options(warn = 1)`` (``Warning in f(x) : msg``).
    """
    out: list[str] = []
    immediate = re.compile(r"^Warning(?: in .*?)?\s*:\s*(?!$)(.*)$")
    deferred = False
    for raw in text.splitlines():
        line = raw.strip()
        if re.match(r"^Warning messages?:$", line):
            deferred = True
            continue
        m = immediate.match(line)
        if m and not line.startswith("Warning message"):
            out.append(m.group(1).strip())
            deferred = False
        elif deferred and line:
            item = re.sub(r"^\d+:\s*", "", line)
            item = re.sub(r"^In .*? :\s*", "", item).strip()
            if item:
                out.append(item)
    return [" ".join(w.split()) for w in out if w]


class Lme4Fit:
    """An lme4 fit made through pymer4.

    Attributes
    ----------
    model : pymer4.models.Lmer
        The fitted pymer4 model (``.coefs``, ``.ranef_var``, ``.model_obj``...).
    formula : str
        The brms formula as given.
    r_formula : str
        The lme4 formula actually fitted.
    family : str
        brms family name.
    warnings : list of str
        lme4's convergence and singular-fit messages and any R warning of the fit.
    provenance : dict
        Engine, versions, formula, family, control, nAGQ, REML, rows, timing, warnings.

    """

    def __init__(
        self,
        model: Any,
        formula: str,
        r_formula: str,
        family: str,
        fit_warnings: list[str],
        provenance: dict,
    ) -> None:
        self.model = model
        self.formula = formula
        self.r_formula = r_formula
        self.family = family
        self.warnings = list(fit_warnings)
        self.provenance = provenance

    @property
    def coefs(self) -> pd.DataFrame:
        """pymer4's coefficient table (lme4 term names)."""
        return self.model.coefs.copy()

    @property
    def ranef_sd(self) -> pd.DataFrame:
        """Group-level standard deviations: columns ``group``, ``name``, ``sd``."""
        rv = self.model.ranef_var
        return pd.DataFrame(
            {
                "group": [str(i) for i in rv.index],
                "name": [str(n) if isinstance(n, str) else "" for n in rv["Name"]],
                "sd": rv["Std"].to_numpy(float),
            }
        )

    @property
    def singular(self) -> bool:
        """True if lme4 reported a boundary (singular) fit."""
        return any("singular" in w for w in self.warnings)

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Population-level effects in the shared tidy schema (engine ``lme4``).

        ``estimate`` and ``std_error`` are lme4's; the interval is the Wald interval
        ``estimate +/- z * std_error`` at ``conf_level`` (what ``confint(method = "Wald")``
        gives); ``statistic`` is lmerTest's t (gaussian) or glmer's z, and ``p_value`` the
        two-sided p-value (Satterthwaite degrees of freedom for gaussian models).
        """
        from scipy.stats import norm

        if not 0 < conf_level < 1:
            raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
        c = self.model.coefs
        z = float(norm.ppf(1 - (1 - conf_level) / 2))
        est = c["Estimate"].to_numpy(float)
        se = c["SE"].to_numpy(float)
        stat_col = "T-stat" if "T-stat" in c.columns else "Z-stat"
        return tidy_frame(
            {
                "term": [brms_term_name(str(t)) for t in c.index],
                "estimate": est,
                "std_error": se,
                "conf_low": est - z * se,
                "conf_high": est + z * se,
                "conf_level": conf_level,
                "statistic": c[stat_col].to_numpy(float),
                "p_value": c["P-val"].to_numpy(float) if "P-val" in c.columns else np.nan,
                "engine": NAME,
                "model": self.formula,
            }
        )

    def __repr__(self) -> str:
        return f"<Lme4Fit {self.r_formula!r} family={self.family} warnings={len(self.warnings)}>"


def fit(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    *,
    nAGQ: int | None = None,  # noqa: N803 - lme4's name
    fast: bool = False,
    control: str | None = None,
    REML: bool = True,  # noqa: N803 - lme4's name
    weights: Any = None,
    quiet: bool = False,
) -> Lme4Fit:
    """Fit ``formula`` with lme4 (through pymer4 0.8.2).

    Parameters
    ----------
    formula : str
        A brms formula; see :func:`translate` for what changes on the way to lme4.
    data : DataFrame
        The data; checked as for brms (columns present, no missing values, valid response).
    family : str or Family
        ``gaussian`` (``lmer``), ``bernoulli``/``binomial`` (``glmer``, logit) or ``poisson``
        (``glmer``, log).
    nAGQ : int, optional
        Adaptive Gauss-Hermite quadrature points for ``glmer`` (default lme4's 1, Laplace).
        ``nAGQ > 1`` needs a single scalar random-effect term (an lme4 rule, checked here).
    fast : bool
        Use ``glmerControl(optimizer = "nloptwrap", calc.derivs = FALSE)``.
    control : str, optional
        Arguments for ``lmerControl()``/``glmerControl()`` as R code, e.g.
        ``'optimizer = "bobyqa"'``. Cannot be combined with ``fast``.
    REML : bool
        REML for gaussian models (lme4's default); ignored by ``glmer``.
    weights : optional
        Refused: pymer4 0.8.2 silently ignores weights.
    quiet : bool
        Do not re-emit lme4's warnings as Python warnings (they stay on ``.warnings``).

    Returns
    -------
    Lme4Fit

    Raises
    ------
    EngineError
        For weights, an inexpressible formula/family, bad ``nAGQ`` or ``fast`` + ``control``.
    SpecError, DataError
        For a malformed formula or data that does not fit it.
    RError
        If lme4 fails; carries R's message.

    """
    if weights is not None:
        raise EngineError(
            "engine lme4 does not take weights: pymer4 0.8.2 silently ignores a weights "
            "column, so pybrms refuses it rather than fit an unweighted model"
        )
    parsed = parse_formula(formula)
    fam = parse_family(family)
    r_formula, r_family = translate(parsed, fam)
    validate_data(parsed, fam, data)
    if fast and control:
        raise EngineError("engine lme4: give either fast=True or control=..., not both")
    if fast:
        control = FAST_CONTROL
    if nAGQ is not None:
        if r_family == "gaussian":
            raise EngineError("engine lme4: nAGQ applies to glmer only, not to a gaussian lmer")
        if not isinstance(nAGQ, int) or isinstance(nAGQ, bool) or nAGQ < 0:
            raise EngineError(f"engine lme4: nAGQ must be a non-negative integer, got {nAGQ!r}")
        if nAGQ > 1 and (
            len(parsed.groups) != 1
            or len(parsed.groups[0].factors) != 1
            or parsed.groups[0].lhs.replace(" ", "") not in ("1", "1+0")
        ):
            raise EngineError(
                f"engine lme4: nAGQ = {nAGQ} > 1 needs a single scalar random effect "
                f"such as (1 | g); {parsed.text!r} has "
                f"{', '.join(f'({g.lhs} | {g.group})' for g in parsed.groups) or 'none'}"
            )
    used = sorted(parsed.variables)
    frame = data.loc[:, used].reset_index(drop=True).copy()
    for col in frame.columns:  # pandas "string" dtype -> object, which rpy2 converts cleanly
        if pd.api.types.is_string_dtype(frame[col]) and frame[col].dtype != object:
            frame[col] = frame[col].astype(object)

    Lmer = _import_pymer4().models.Lmer

    t0 = time.perf_counter()
    with _pymer4_session(nAGQ) as console:
        try:
            model = Lmer(r_formula, data=frame, family=r_family)
            model.fit(
                summarize=False,
                no_warnings=True,
                verbose=False,
                REML=REML,
                control=control or "",
            )
        except Exception as exc:  # rpy2's RRuntimeError and pymer4's own errors
            text = "".join(console).strip()
            msg = text.split("Error", 1)[-1].lstrip(" in:") if "Error" in text else str(exc)
            raise RError(f"lme4 failed on {r_formula!r}: {msg.strip()}", r_message=msg) from None
    seconds = time.perf_counter() - t0
    if getattr(model, "coefs", None) is None:
        raise EngineError(f"engine lme4: {r_formula!r} has no population-level effects to report")

    fit_warnings: list[str] = []
    for w in _flatten(model.warnings) + _console_warnings("".join(console)):
        w = " ".join(str(w).split())
        if w and w not in fit_warnings:
            fit_warnings.append(w)
    if not quiet:
        for w in fit_warnings:
            warnings.warn(f"lme4 ({r_formula}): {w}", Lme4Warning, stacklevel=2)
    if r_family == "gaussian":
        method = "REML" if REML else "ML"
    elif nAGQ == 0:
        method = "ML (nAGQ = 0: fixed effects estimated in the penalized IRLS step)"
    elif nAGQ is None or nAGQ == 1:
        method = "ML (Laplace approximation)"
    else:
        method = f"ML (adaptive Gauss-Hermite quadrature, nAGQ = {nAGQ})"
    prov = {
        "engine": NAME,
        "method": method,
        "function": "lmerTest::lmer" if r_family == "gaussian" else "lme4::glmer",
        "versions": r_versions(),
        "formula": formula,
        "r_formula": r_formula,
        "family": fam.r_call(),
        "r_family": r_family,
        "control": control or "",
        "nAGQ": 1 if nAGQ is None else nAGQ,
        "fast": bool(fast),
        "n_rows": int(len(frame)),
        "warnings": fit_warnings,
        "timing_seconds": {"fit": round(seconds, 3)},
    }
    return Lme4Fit(model, formula, r_formula, fam.name, fit_warnings, prov)


__all__ = [
    "FAST_CONTROL",
    "NAME",
    "Lme4Fit",
    "Lme4Warning",
    "brms_term_name",
    "check",
    "fit",
    "r_versions",
    "translate",
]
