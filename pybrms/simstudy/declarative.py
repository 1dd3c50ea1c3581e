"""A declarative data-generating model: a design, a formula and family, true values in brms's names.

::

    [model]
    formula = "y ~ x + z + (1 | g)"
    family = "bernoulli"            # gaussian (identity), bernoulli (logit), poisson (log)
    truth = { b_Intercept = -1, b_x = "effect", b_zb = 0.3, sd_g__Intercept = 1 }
    [model.design]
    groups = { g = "n_groups" }     # levels of each grouping factor (numbers or condition names)
    size = 20                       # rows per level of the first grouping factor (or n = rows)
    covariates = { x = "normal(0, 1)", z = "categorical(a, b)", w = { dist = "normal(0, 1)", level = "g" } }
    # or: data = "design.csv"       # covariates and groups read by R (read.csv); y is drawn

Values given as strings that name a condition take that condition's value. True values use
brms's parameter names: ``b_Intercept`` and ``b_<coef>`` (brms's coefficient names: ``zb`` is
level ``b`` of ``z``), ``sd_<group>__<term>``, ``cor_<group>__<term1>__<term2>`` (default 0) and
``sigma``; a coefficient without a true value is 0. The linear predictor is
``b_Intercept + X b + Z u`` with ``u`` multivariate normal per level; the response is drawn
from the family with its canonical link.

For simulation-based calibration (:func:`draw_truth`), every parameter is drawn from a prior
table as brms writes it, and ``Intercept`` is brms's intercept of the *centred* design matrix
(its class ``Intercept``): the data use ``Intercept + (X - colmeans(X)) b + Z u`` and the truth
of ``b_Intercept`` is ``Intercept - colmeans(X) b``, as brms reports it for that data set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..rread import read_data
from ..spec.formula import parse_formula
from ..spec.naming import brms_term_name
from ..spec.terms import coefficient_term, fixed_terms, split_formula

#: families a declarative model draws, with their inverse links
FAMILIES = ("gaussian", "bernoulli", "poisson")
_DIST = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$")
_MODEL_FIELDS = ("formula", "family", "truth", "design")
_DESIGN_FIELDS = ("groups", "size", "n", "covariates", "data")


@dataclass(frozen=True)
class GroupBlock:
    """One group-level term of the model: its grouping factor and its terms (brms names)."""

    factor: str
    terms: tuple[str, ...]
    variables: tuple[tuple[str, ...], ...]  # per term: the columns multiplied (() = intercept)


def resolve(value: Any, condition: Mapping[str, Any]) -> Any:
    """A value, or the condition's value when it is a string naming a condition."""
    if isinstance(value, str) and value in condition:
        return condition[value]
    return value


def check_model(model: Mapping[str, Any]) -> None:
    """Check a declarative model's tables and formula (no data needed).

    Raises
    ------
    SpecError
        Unknown fields, an unsupported family, a formula that is not plain.
    """
    unknown = sorted(set(model) - set(_MODEL_FIELDS))
    if unknown:
        raise SpecError(f"[model]: unknown field(s) {unknown}; known: {', '.join(_MODEL_FIELDS)}")
    for key in ("formula", "design"):
        if key not in model:
            raise SpecError(f"[model] needs {key!r}")
    if str(model.get("family", "gaussian")) not in FAMILIES:
        raise SpecError(f"[model]: a declarative model draws the families {FAMILIES}; for "
                        f"{model.get('family')!r} write a generate function")
    split_formula(str(model["formula"]))  # plain formulas only (clear SpecError otherwise)
    design = model["design"]
    if not isinstance(design, Mapping):
        raise SpecError("[model.design] must be a table")
    bad = sorted(set(design) - set(_DESIGN_FIELDS))
    if bad:
        raise SpecError(f"[model.design]: unknown field(s) {bad}; known: "
                        f"{', '.join(_DESIGN_FIELDS)}")


# ----- distributions ------------------------------------------------------------------------
def parse_dist(text: str) -> tuple[str, list[str]]:
    """``"normal(0, 1)"`` -> ``("normal", ["0", "1"])``."""
    m = _DIST.match(str(text))
    if not m:
        raise SpecError(f"{text!r} is not a distribution like normal(0, 1)")
    args = [a.strip() for a in m.group(2).split(",")] if m.group(2).strip() else []
    return m.group(1), args


def _num(args: list[str], i: int, text: str) -> float:
    try:
        return float(args[i])
    except (IndexError, ValueError):
        raise SpecError(f"{text!r}: argument {i + 1} is missing or not a number") from None


def draw_dist(text: str, size: int, rng: np.random.Generator, lower: float | None = None
              ) -> np.ndarray:
    """Draw ``size`` values of a Stan-style distribution (``lower``: truncated below, as brms
    bounds ``sd`` and ``sigma`` at 0).

    Supported: normal, student_t(nu, mu, sigma), cauchy, exponential(rate), gamma(shape,
    rate), lognormal, uniform, bernoulli(p), and ``categorical(a, b, ...)`` (equal
    probabilities, strings).
    """
    name, args = parse_dist(text)
    if name == "categorical":
        if not args:
            raise SpecError(f"{text!r}: name the levels")
        return rng.choice(np.array(args, dtype=object), size=size)

    def one(n: int) -> np.ndarray:
        if name == "normal":
            return rng.normal(_num(args, 0, text), _num(args, 1, text), n)
        if name == "student_t":
            return _num(args, 1, text) + _num(args, 2, text) * rng.standard_t(_num(args, 0, text), n)
        if name == "cauchy":
            return _num(args, 0, text) + _num(args, 1, text) * rng.standard_cauchy(n)
        if name == "exponential":
            return rng.exponential(1 / _num(args, 0, text), n)
        if name == "gamma":
            return rng.gamma(_num(args, 0, text), 1 / _num(args, 1, text), n)
        if name == "lognormal":
            return rng.lognormal(_num(args, 0, text), _num(args, 1, text), n)
        if name == "uniform":
            return rng.uniform(_num(args, 0, text), _num(args, 1, text), n)
        if name == "bernoulli":
            return rng.binomial(1, _num(args, 0, text), n).astype(float)
        raise SpecError(f"{text!r}: cannot draw {name}(); use normal, student_t, cauchy, "
                        "exponential, gamma, lognormal, uniform, bernoulli or categorical")

    out = one(size)
    if lower is None:
        return out
    for _ in range(10_000):  # rejection: the truncated distribution brms's bound implies
        bad = out <= lower
        if not bad.any():
            return out
        out[bad] = one(int(bad.sum()))
    raise SpecError(f"{text!r}: almost no mass above {lower}")


# ----- the design ---------------------------------------------------------------------------
def make_design(design: Mapping[str, Any], condition: Mapping[str, Any],
                rng: np.random.Generator, root: Path = Path(".")) -> pd.DataFrame:
    """The covariates and grouping factors of one replicate (no response yet)."""
    if "data" in design:
        path = Path(str(resolve(design["data"], condition)))
        df = read_data(str(path if path.is_absolute() else root / path))
        return df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
    groups = {str(g): int(resolve(n, condition)) for g, n in dict(design.get("groups")
                                                                  or {}).items()}
    if groups:
        first = next(iter(groups))
        size = int(resolve(design.get("size", 10), condition))
        n = groups[first] * size
        cols: dict[str, Any] = {first: np.repeat(np.arange(1, groups[first] + 1), size)}
        for g, k in list(groups.items())[1:]:
            cols[g] = rng.integers(1, k + 1, n)
    elif "n" in design:
        n = int(resolve(design["n"], condition))
        cols = {}
    else:
        raise SpecError("[model.design] needs groups (with size), n, or data")
    if n < 2:
        raise SpecError(f"[model.design] gives {n} row(s)")
    for name, spec in dict(design.get("covariates") or {}).items():
        if isinstance(spec, Mapping):
            dist, level = resolve(spec.get("dist"), condition), spec.get("level")
            if level not in cols:
                raise SpecError(f"covariate {name!r}: level {level!r} is not a grouping factor")
            per = draw_dist(str(dist), int(np.max(cols[level])), rng)
            cols[name] = per[np.asarray(cols[level]) - 1]
        else:
            cols[name] = draw_dist(str(resolve(spec, condition)), n, rng)
    df = pd.DataFrame(cols)
    for g in groups:
        df[g] = df[g].map(lambda i: f"{i:03d}")
    return df


# ----- the model's parameters ---------------------------------------------------------------
def _column(coef: str, terms: Sequence[tuple[str, ...]], df: pd.DataFrame) -> np.ndarray:
    """The design-matrix column of a brms coefficient name (numeric columns and factor
    indicators multiplied), or SpecError when the model has no such coefficient.
    """
    term = coefficient_term(coef, terms)
    if term is None:
        raise SpecError(f"the model has no coefficient {coef!r}")
    out = np.ones(len(df))
    for part, var in zip(coef.split(":"), term, strict=True):
        col = df[var]
        if part == var:
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                raise SpecError(f"{coef!r}: {var!r} is a factor; name a level ({var}LEVEL)")
            out = out * col.to_numpy(float)
            continue
        level = part[len(var):]
        levels = sorted(map(str, pd.unique(col)))
        if level not in levels:
            raise SpecError(f"coefficient {coef!r}: {var!r} has no level {level!r}; levels: "
                            f"{levels}")
        if level == levels[0]:
            raise SpecError(f"coefficient {coef!r}: {level!r} is {var!r}'s reference level "
                            "(R's first level), which has no coefficient")
        out = out * (col.astype(str).to_numpy() == level)
    return out


def group_blocks(formula: str) -> list[GroupBlock]:
    """The group-level blocks of a plain formula: one per grouping factor of each term."""
    out = []
    for g in parse_formula(formula).groups:
        lhs = g.lhs.strip()
        intercept = not re.search(r"(^|[+\s])(0|-\s*1)(\s|\+|$)", lhs)
        slopes = [t for t in fixed_terms(f"y ~ {lhs}")] if lhs not in ("1", "0", "-1") else []
        names = (["Intercept"] if intercept else []) + [":".join(t) for t in slopes]
        variables = ([()] if intercept else []) + [tuple(t) for t in slopes]
        for factor in g.factors:
            out.append(GroupBlock(factor, tuple(names), tuple(variables)))
    return out


def parameter_names(formula: str, family: str, df: pd.DataFrame) -> dict[str, str]:
    """Every parameter name of the model (brms's) a truth may set -> its kind (b, sd, cor,
    sigma), given the design (factor levels).
    """
    terms = fixed_terms(formula)
    names: dict[str, str] = {}
    if parse_formula(formula).has_intercept:
        names["b_Intercept"] = "b"
    for term in terms:
        for coef in _coefs(term, df):
            names[f"b_{coef}"] = "b"
    for block in group_blocks(formula):
        for t in block.terms:
            names[f"sd_{block.factor}__{brms_term_name(t)}"] = "sd"
        for i, a in enumerate(block.terms):
            for b in block.terms[i + 1:]:
                names[f"cor_{block.factor}__{brms_term_name(a)}__{brms_term_name(b)}"] = "cor"
    if family == "gaussian":
        names["sigma"] = "sigma"
    return names


def _coefs(term: tuple[str, ...], df: pd.DataFrame) -> list[str]:
    parts: list[list[str]] = []
    for var in term:
        col = df[var]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            parts.append([var])
        else:
            parts.append([f"{var}{lev}" for lev in sorted(map(str, pd.unique(col)))[1:]])
    out = [""]
    for options in parts:
        out = [f"{a}:{b}" if a else b for a in out for b in options]
    return out


def check_truth(truth: Mapping[str, Any], formula: str, family: str, df: pd.DataFrame) -> None:
    """Refuse true values for parameters the model does not have.

    Raises
    ------
    SpecError
        Naming the unknown parameters and the model's parameters.
    """
    known = parameter_names(formula, family, df)
    unknown = [k for k in truth if k not in known]
    if unknown:
        raise SpecError(f"true value(s) for {unknown}, which the model {formula!r} "
                        f"({family}) does not have; its parameters: {', '.join(known)}")


# ----- drawing -------------------------------------------------------------------------------
def linear_predictor(formula: str, df: pd.DataFrame, truth: Mapping[str, float],
                     rng: np.random.Generator, centred_intercept: float | None = None
                     ) -> tuple[np.ndarray, dict[str, float]]:
    """``eta`` of one replicate and the truths it implies (``b_Intercept`` when centred)."""
    terms = fixed_terms(formula)
    eta = np.zeros(len(df))
    out = dict(truth)
    means = 0.0
    for name, value in truth.items():
        if name.startswith("b_") and name != "b_Intercept":
            col = _column(name[2:], terms, df)
            eta += float(value) * col
            means += float(value) * col.mean()
    if centred_intercept is not None:
        eta += centred_intercept - means
        out["b_Intercept"] = centred_intercept - means
    else:
        eta += float(truth.get("b_Intercept", 0.0))
    for block in group_blocks(formula):
        k = len(block.terms)
        sds = np.array([float(truth.get(f"sd_{block.factor}__{brms_term_name(t)}", 0.0))
                        for t in block.terms])
        cor = np.eye(k)
        for i in range(k):
            for j in range(i + 1, k):
                key = (f"cor_{block.factor}__{brms_term_name(block.terms[i])}__"
                       f"{brms_term_name(block.terms[j])}")
                cor[i, j] = cor[j, i] = float(truth.get(key, 0.0))
        levels = df[block.factor].astype(str) if ":" not in block.factor else \
            df[block.factor.split(":")].astype(str).agg(":".join, axis=1)
        codes, uniques = pd.factorize(levels, sort=True)
        u = rng.multivariate_normal(np.zeros(k), np.outer(sds, sds) * cor, len(uniques),
                                    method="cholesky")
        for i, variables in enumerate(block.variables):
            col = np.ones(len(df))
            for v in variables:
                col = col * df[v].to_numpy(float)
            eta += u[codes, i] * col
    return eta, out


def draw_response(family: str, eta: np.ndarray, truth: Mapping[str, float],
                  rng: np.random.Generator) -> np.ndarray:
    """The response given ``eta`` (canonical links)."""
    if family == "gaussian":
        if "sigma" not in truth:
            raise SpecError("a gaussian model needs a true sigma")
        return eta + rng.normal(0.0, float(truth["sigma"]), eta.size)
    if family == "bernoulli":
        return rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(int)
    if family == "poisson":
        return rng.poisson(np.exp(eta)).astype(int)
    raise SpecError(f"cannot draw family {family!r}")


def simulate(model: Mapping[str, Any], condition: Mapping[str, Any], rng: np.random.Generator,
             root: Path = Path("."), prior: Sequence[Mapping[str, Any]] | None = None,
             truth_rng: np.random.Generator | None = None
             ) -> tuple[pd.DataFrame, dict[str, float]]:
    """One replicate of a declarative model: ``(data, {brms name: truth})``.

    With ``prior`` (simulation-based calibration) the truths are drawn from it with
    ``truth_rng`` (:func:`draw_truth`) instead of read from the model's ``truth`` table.
    """
    formula, family = str(model["formula"]), str(model.get("family", "gaussian"))
    df = make_design(model["design"], condition, rng, root)
    centred_intercept = None
    if prior is not None:
        truth, centred_intercept = draw_truth(model, prior, df, truth_rng or rng)
    else:
        truth = {k: float(resolve(v, condition)) for k, v in dict(model.get("truth")
                                                                   or {}).items()}
    check_truth(truth, formula, family, df)
    eta, implied = linear_predictor(formula, df, truth, rng, centred_intercept)
    response, _, _ = split_formula(formula)
    df[response] = draw_response(family, eta, truth, rng)
    return df, implied


def prior_for(priors: Sequence[Mapping[str, Any]], cls: str, coef: str = "",
              group: str = "") -> str:
    """The prior brms would put on one parameter: the most specific matching table."""
    best, score = None, -1
    for p in priors:
        if p.get("class", "b") != cls or p.get("dpar") or p.get("nlpar"):
            continue
        pc, pg = p.get("coef", "") or "", p.get("group", "") or ""
        if (pc and pc != coef) or (pg and pg != group):
            continue
        s = (2 if pc else 0) + (1 if pg else 0)
        if s > score:
            best, score = str(p["prior"]), s
    if best is None:
        raise SpecError(f"SBC draws every parameter from the prior: give a prior for class "
                        f"{cls!r}" + (f" (coef {coef!r})" if coef else "")
                        + (f" (group {group!r})" if group else ""))
    return best


def draw_truth(model: Mapping[str, Any], priors: Sequence[Mapping[str, Any]],
               df: pd.DataFrame, rng: np.random.Generator
               ) -> tuple[dict[str, float], float | None]:
    """Draw every parameter of the model from ``priors`` (brms tables): ``(truth, Intercept)``
    with ``Intercept`` brms's centred intercept (``b_Intercept`` is set by the data).
    """
    formula, family = str(model["formula"]), str(model.get("family", "gaussian"))
    truth: dict[str, float] = {}
    intercept = None
    for name, kind in parameter_names(formula, family, df).items():
        if name == "b_Intercept":
            intercept = float(draw_dist(prior_for(priors, "Intercept"), 1, rng)[0])
        elif kind == "b":
            truth[name] = float(draw_dist(prior_for(priors, "b", name[2:]), 1, rng)[0])
        elif kind == "sd":
            group, coef = name[3:].split("__", 1)
            truth[name] = float(draw_dist(prior_for(priors, "sd", coef, group), 1, rng,
                                          lower=0.0)[0])
        elif kind == "sigma":
            truth[name] = float(draw_dist(prior_for(priors, "sigma"), 1, rng, lower=0.0)[0])
        elif kind == "cor":
            group = name[4:].split("__", 1)[0]
            text = prior_for(priors, "cor", group=group)
            dist, args = parse_dist(text)
            if dist != "lkj":
                raise SpecError(f"class cor takes lkj(eta), got {text!r}")
            if sum(1 for k in parameter_names(formula, family, df) if
                   k.startswith(f"cor_{group}__")) > 1:
                raise SpecError("SBC draws correlations of 2-term blocks only")
            eta = _num(args, 0, text)
            truth[name] = float(2 * rng.beta(eta, eta) - 1)  # LKJ(eta) in 2 dimensions
    return truth, intercept
