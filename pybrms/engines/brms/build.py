"""brms's build step, before any compile: ``brm(..., empty = TRUE)`` judges the model.

Python checks what it knows exactly (columns, missing values, response types of known
families: :mod:`pybrms.spec`); everything else — is ``foo`` a distributional parameter, does a
prior's coefficient exist, does a non-linear parameter have a prior, is this a family — is
brms's to judge, and its message comes back as a :class:`~pybrms.errors.SpecError` naming the
call. The same step answers the questions users ask before fitting: :func:`get_prior`,
:func:`validate_prior`, :func:`stancode`, :func:`standata`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import bridge
from ...errors import RError, SpecError
from ...rread import spec_from
from ...spec.families import Family
from ...spec.model import FitSpec, PriorInput
from ...spec.rcode import RCall, RExpr, r_code
from . import parse


def r_priors(spec: FitSpec) -> list:
    """The spec's priors as ``pybrms_priors()`` in r/brms.R reads them."""
    out: list = []
    for p in spec.priors:
        if isinstance(p, RExpr):
            out.append(p)
            continue
        d = p.to_dict()
        d["class"] = d.pop("class_")
        out.append(d)
    return out


def stanvars_expr(stanvars: Mapping[str, Any] | RExpr | None) -> RExpr | None:
    """``{"prior_sd": 10}`` as brms's ``stanvar(10, name = "prior_sd")`` (summed with ``+``);
    an R expression (``pybrms.stanvar(...)``, ``pybrms.R(...)``) as it is.

    Numbers given this way are data: a prior written ``"normal(0, prior_sd)"`` keeps one Stan
    program for every value, so the compiled program is reused.
    """
    if stanvars is None or isinstance(stanvars, RExpr):
        return stanvars
    if not isinstance(stanvars, Mapping) or not stanvars:
        raise SpecError("stanvars must be a dict of name -> number/array, or pybrms.stanvar(...)")
    expr: RExpr | None = None
    for name, value in stanvars.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"stanvars: {name!r} is not a Stan variable name")
        one = RCall("stanvar", value, name=name)
        expr = one if expr is None else expr + one
    return expr


def call_text(spec: FitSpec, args: Mapping[str, Any]) -> str:
    """The ``brm()`` call as R code, for messages: ``brm(y ~ x, family = gaussian(), ...)``."""
    parts = [spec.formula.r_object().code(), "data = data", f"family = {spec.family.r_call()}"]
    if spec.priors:
        parts.append("prior = ...")
    parts += [f"{k} = {r_code(v)}" for k, v in args.items() if k not in ("normalize",)]
    text = f"brm({', '.join(parts)})"
    return text if len(text) < 400 else text[:397] + "..."


def _spec_error(exc: RError, spec: FitSpec, args: Mapping[str, Any]) -> SpecError:
    msg = (exc.r_message or str(exc)).strip()
    return SpecError(f"brms refused the model: {msg}\n  in {call_text(spec, args)}")


def build(spec: FitSpec, args: Mapping[str, Any]) -> Any:
    """``brm(..., empty = TRUE)``, then Stan's parser on the program: validate, no compile.

    brms validates the model and writes the Stan program; Stan's own parser (rstan's
    ``stanc()``, about 60 ms, cached per process by the program's hash: :mod:`.parse`) then
    reads it, so a prior brms writes into the program as it is (``nromal(0, 1)``,
    ``normal(0, )``, ``normal(a, 1)``, ``lkj(2)`` on class ``b``) is refused here, naming the
    prior and Stan's reason, instead of by the C++ compile.

    Parameters
    ----------
    spec : FitSpec
        The model (formula, family, priors, data).
    args : mapping
        Other ``brm()`` arguments (``sample_prior``, ``stanvars``, ``save_pars``, ``data2``...).

    Raises
    ------
    SpecError
        With brms's own message and the call, when brms refuses the model; with the prior and
        Stan's one-line reason when Stan's parser refuses the program brms wrote.
    """
    try:
        x = bridge.call("pybrms_build", spec.formula.r_object(), spec.data,
                        spec.family.r_object(), r_priors(spec), dict(args))
    except RError as exc:
        raise _spec_error(exc, spec, args) from exc
    refusal = parse.parse_program(str(bridge.to_py(bridge.call("pybrms_stancode", x))))
    if refusal is not None:
        raise SpecError(f"{parse.describe(refusal, spec.priors)}\n  in {call_text(spec, args)}")
    return x


def coefficient_names(x: Any) -> list[str]:
    """The population-level coefficients of a built model, as ``fixef()`` will name them.

    Read from the model's prior table (``prior_summary(all = TRUE)``): every class-``b``
    coefficient and every intercept, prefixed as brms prefixes them (``sigma_x`` for a
    distributional parameter, ``<nlpar>_<coef>``, ``<resp>_<coef>``; ordinal intercepts
    ``Intercept[1]``...). A fit's tidy rows name its population-level terms so.
    """
    table = bridge.to_pandas(bridge.call("pybrms_prior_table", x))
    out: list[str] = []
    for row in table.to_dict(orient="records"):
        cls, coef = str(row.get("class", "")), str(row.get("coef", "") or "")
        if cls not in ("b", "Intercept"):
            continue
        dpar = str(row.get("dpar", "") or "")
        parts = [str(row.get("resp", "") or ""), "" if dpar == "mu" else dpar,
                 str(row.get("nlpar", "") or "")]
        prefix = "_".join(p for p in parts if p)
        if cls == "b" and coef:
            name = coef
        elif cls == "Intercept" and not coef:
            name = "Intercept"
        elif cls == "Intercept":
            name = f"Intercept[{coef}]"
        else:
            continue
        full = f"{prefix}_{name}" if prefix else name
        if full not in out:
            out.append(full)
    return sorted(out, key=lambda n: "Intercept" not in n)  # fixef()'s order: intercepts first


def _spec(formula: Any, data: Any, family: str | Family | RExpr, prior: PriorInput) -> FitSpec:
    return spec_from(formula, data, family, prior)


def _args(brms_args: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(brms_args)
    if "stanvars" in args:
        args["stanvars"] = stanvars_expr(args["stanvars"])
    return {k: v for k, v in args.items() if v is not None}


def get_prior(formula: Any, data: Any, family: str | Family | RExpr = "gaussian",
              **brms_args: Any) -> pd.DataFrame:
    """Brms's ``get_prior()``: every parameter class a model has and its default prior.

    Parameters
    ----------
    formula, data, family
        As for :func:`pybrms.brm` (``data`` may be a path R reads).
    **brms_args
        ``data2``, ``knots``, ``autocor``, ``sparse``, ``drop_unused_levels`` as in brms.

    Returns
    -------
    DataFrame
        brms's columns: prior, class, coef, group, resp, dpar, nlpar, lb, ub, source
        (an empty ``prior`` is brms's flat prior).

    Raises
    ------
    SpecError
        With brms's message, when brms refuses the model.
    """
    spec = _spec(formula, data, family, None)
    args = _args(brms_args)
    try:
        out = bridge.call("pybrms_get_prior", spec.formula.r_object(), spec.data,
                          spec.family.r_object(), args)
    except RError as exc:
        raise _spec_error(exc, spec, args) from exc
    return bridge.to_pandas(out)


#: brms >= 2.21 calls get_prior default_prior; both names work here
default_prior = get_prior


def validate_prior(formula: Any, data: Any, family: str | Family | RExpr = "gaussian",
                   prior: PriorInput = None, **brms_args: Any) -> pd.DataFrame:
    """The priors a model will use, the user's and brms's defaults together, as brms's
    ``prior_summary(all = TRUE)`` of the built model (brms's ``validate_prior``).

    Raises
    ------
    SpecError
        When brms refuses the model or a prior (e.g. on a coefficient that does not exist).
    """
    spec = _spec(formula, data, family, prior)
    x = build(spec, _args(brms_args))
    return bridge.to_pandas(bridge.call("pybrms_prior_table", x))


def stancode(formula: Any, data: Any, family: str | Family | RExpr = "gaussian",
             prior: PriorInput = None, **brms_args: Any) -> str:
    """The Stan program brms generates for a model, before fitting (nothing is compiled)."""
    spec = _spec(formula, data, family, prior)
    x = build(spec, _args(brms_args))
    return str(bridge.to_py(bridge.call("pybrms_stancode", x)))


def standata(formula: Any, data: Any, family: str | Family | RExpr = "gaussian",
             prior: PriorInput = None, **brms_args: Any) -> dict[str, Any]:
    """The data brms passes to Stan for a model, before fitting: a dict of numpy arrays and
    numbers with brms's names (``N``, ``Y``, ``X``, ``J_1``...).
    """
    spec = _spec(formula, data, family, prior)
    x = build(spec, _args(brms_args))
    return _standata(x)


def _standata(x: Any) -> dict[str, Any]:
    raw = bridge.call("pybrms_standata", x)
    out: dict[str, Any] = {}
    for name, value in zip(list(raw.names), list(raw), strict=True):
        dims = getattr(value, "dim", None)
        try:
            if dims is not None and len(dims) == 2:
                out[name] = bridge.r_matrix(value)
            else:
                arr = np.array(value, copy=True)
                out[name] = arr.item() if arr.size == 1 and dims is None else arr
        except (TypeError, ValueError):
            out[name] = bridge.to_py(value)
    return out


__all__: Sequence[str] = ["build", "coefficient_names", "default_prior", "get_prior", "stancode", "standata",
                          "stanvars_expr", "validate_prior"]
