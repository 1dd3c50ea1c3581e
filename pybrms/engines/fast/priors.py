"""brms's prior table, read for the fast engine: which prior each parameter has, and its density.

brms keeps priors as a table (``brms::get_prior`` / ``validate_prior`` / ``prior_summary``:
columns ``prior, class, coef, group, resp, dpar, nlpar, lb, ub, source``). A row with an
empty ``prior`` inherits: a coefficient's row from its group's row, that from the class's row
(``b``, ``sd``, ``cor``); an empty class-level ``b`` row means brms's flat (improper) prior.
:func:`resolve` applies that rule; :func:`log_density` turns a prior such as
``student_t(3, 5.3, 2.5)`` into the log density brms adds to ``target`` (up to a constant).
:func:`check_priors` refuses, before any data or R is touched, the priors the fast engine
cannot express, naming them.

What brms means by each class, and so what the fast engine puts the prior on:

* ``Intercept``: the intercept of the *centred* design (population-level predictors minus
  their means); ``b_Intercept`` is recovered afterwards, as brms does;
* ``b``: the population-level coefficients (flat unless given);
* ``sd``: group-level standard deviations (``lb = 0``: half distributions);
* ``cor`` / ``L``: ``lkj(eta)`` on the correlation matrix, i.e. ``lkj_corr_cholesky(eta)``
  on its Cholesky factor;
* ``sigma``: the residual standard deviation of gaussian and lognormal models.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...errors import EngineError
from ...spec.priors import Prior

#: the columns of a brms prior table
PRIOR_COLUMNS: tuple[str, ...] = (
    "prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub", "source",
)
#: prior classes the fast engine models
CLASSES: frozenset[str] = frozenset({"b", "Intercept", "sd", "cor", "L", "sigma"})
#: distributions the fast engine can put on a parameter: name -> number of arguments
DISTRIBUTIONS: dict[str, int] = {
    "normal": 2,
    "std_normal": 0,
    "student_t": 3,
    "cauchy": 2,
    "double_exponential": 2,
    "logistic": 2,
    "exponential": 1,
    "gamma": 2,
    "inv_gamma": 2,
    "lognormal": 2,
    "weibull": 2,
    "chi_square": 1,
    "uniform": 2,
    "beta": 2,
}
#: distributions of correlation matrices (class ``cor``) and their Cholesky factors (``L``)
LKJ = ("lkj", "lkj_corr_cholesky")
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Dist:
    """One parsed prior: ``name`` and numeric ``args`` (``flat`` has none).

    Attributes
    ----------
    name : str
        brms/Stan's distribution name, ``"flat"`` for brms's improper default.
    args : tuple of float
        Its arguments, in Stan's order.
    text : str
        The prior as brms wrote it.
    """

    name: str
    args: tuple[float, ...] = ()
    text: str = ""

    @property
    def flat(self) -> bool:
        """True for brms's flat (improper uniform) prior, which adds nothing to the density."""
        return self.name == "flat"


FLAT = Dist("flat", (), "")


def parse_prior(text: str, where: str = "") -> Dist:
    """Parse a brms prior string such as ``"student_t(3, 5.3, 2.5)"``.

    Parameters
    ----------
    text : str
        The prior; ``""`` or ``"(flat)"`` is brms's flat prior.
    where : str
        What the prior belongs to, for error messages (``"class sd, group g"``).

    Returns
    -------
    Dist

    Raises
    ------
    EngineError
        For a distribution the fast engine cannot express (horseshoe, R2D2, constant...),
        a wrong number of arguments, or an argument that is not a plain number.
    """
    text = (text or "").strip()
    if text in ("", "(flat)", "flat"):
        return FLAT
    at = f" on {where}" if where else ""
    m = _CALL.match(text)
    if not m:
        raise EngineError(f"engine fast cannot read the prior {text!r}{at}")
    name, args_text = m.group(1), m.group(2).strip()
    if name not in DISTRIBUTIONS and name not in LKJ:
        raise EngineError(
            f"engine fast cannot express the prior {text!r}{at}: it knows "
            f"{', '.join([*DISTRIBUTIONS, *LKJ])}"
        )
    parts = [a.strip() for a in args_text.split(",")] if args_text else []
    want = 1 if name in LKJ else DISTRIBUTIONS[name]
    if len(parts) != want:
        raise EngineError(f"engine fast: prior {text!r}{at}: {name} takes {want} argument(s)")
    try:
        args = tuple(float(a) for a in parts)
    except ValueError as exc:
        raise EngineError(
            f"engine fast cannot express the prior {text!r}{at}: its arguments must be numbers "
            "(stanvars and expressions are brms-only)"
        ) from exc
    if any(math.isnan(a) or math.isinf(a) for a in args):
        raise EngineError(f"engine fast: prior {text!r}{at} has a non-finite argument")
    return Dist(name, args, text)


def check_priors(priors: Sequence[Prior]) -> None:
    """Refuse the user priors the fast engine cannot express, before data or R are touched.

    Raises
    ------
    EngineError
        Naming the prior: an unsupported class (``shape``, ``ar``...), a distribution outside
        :data:`DISTRIBUTIONS` (``horseshoe``, ``R2D2``, ``constant``...), ``resp``/``dpar``/
        ``nlpar`` (multivariate, distributional and non-linear models), bounds on ``b``, or an
        LKJ prior on anything but ``cor``/``L`` (and vice versa).
    """
    for p in priors:
        if not isinstance(p, Prior):
            continue  # a brmsprior written as R code: brms resolves it, check_table judges
        where = f"class {p.class_}" + (f", coef {p.coef}" if p.coef else "") + (
            f", group {p.group}" if p.group else "")
        if p.class_ not in CLASSES:
            raise EngineError(
                f"engine fast cannot use the prior {p.prior!r} on {where}: it models the "
                f"classes {', '.join(sorted(CLASSES))}"
            )
        for key in ("resp", "dpar", "nlpar"):
            if getattr(p, key):
                raise EngineError(
                    f"engine fast cannot use the prior {p.prior!r} with {key} = "
                    f"{getattr(p, key)!r}: multivariate, distributional and non-linear "
                    "models are brms-only"
                )
        if p.class_ in ("b", "Intercept") and (p.lb is not None or p.ub is not None):
            raise EngineError(
                f"engine fast cannot use bounds (lb/ub) on the prior {p.prior!r} on {where}"
            )
        d = parse_prior(p.prior, where)
        if (d.name in LKJ) != (p.class_ in ("cor", "L")):
            raise EngineError(
                f"engine fast: the prior {p.prior!r} does not fit {where} (LKJ priors go on "
                "class cor, other distributions on the other classes)"
            )


def check_table(table: pd.DataFrame) -> None:
    """Refuse a brms prior table (defaults and user priors merged) the fast engine cannot
    express: a prior on a class it does not model, or a distribution it cannot write.

    Raises
    ------
    EngineError
        Naming the row's prior, class, coefficient and group.
    """
    table = prior_table(table)
    for row in table.itertuples(index=False):
        if not row.prior:
            continue
        where = f"class {row[1]}" + (f", coef {row.coef}" if row.coef else "") + (
            f", group {row.group}" if row.group else "")
        if row[1] not in CLASSES or row.resp or row.dpar or row.nlpar:
            raise EngineError(
                f"engine fast cannot use the prior {row.prior!r} on {where}"
                + (f" (dpar {row.dpar})" if row.dpar else "")
                + (f" (nlpar {row.nlpar})" if row.nlpar else "")
                + f": it models the classes {', '.join(sorted(CLASSES))}"
            )
        d = parse_prior(row.prior, where)
        if (d.name in LKJ) != (row[1] in ("cor", "L")):
            raise EngineError(f"engine fast: the prior {row.prior!r} does not fit {where}")


def prior_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A prior table as plain strings in :data:`PRIOR_COLUMNS` (missing columns empty).

    Raises
    ------
    EngineError
        If the frame lacks ``prior`` or ``class``.
    """
    missing = [c for c in ("prior", "class") if c not in frame.columns]
    if missing:
        raise EngineError(f"a brms prior table needs the column(s) {missing}")
    out = frame.copy()
    for col in PRIOR_COLUMNS:
        if col not in out.columns:
            out[col] = ""
        out[col] = out[col].map(lambda v: "" if v is None or (isinstance(v, float)
                                                              and math.isnan(v)) else str(v))
        out[col] = out[col].str.strip()
    return out.loc[:, list(PRIOR_COLUMNS)].reset_index(drop=True)


def resolve(table: pd.DataFrame, class_: str, coef: str = "", group: str = "") -> Dist:
    """The prior brms puts on one parameter, following brms's inheritance.

    A coefficient's own row wins if it has a prior; else the group's row (``sd``, ``cor``);
    else the class's row. ``cor`` is looked up as ``L`` too (``validate_prior`` and
    ``prior_summary`` write the Cholesky factor's ``lkj_corr_cholesky``).

    Parameters
    ----------
    table : DataFrame
        A brms prior table (:func:`prior_table`).
    class_ : str
        ``b``, ``Intercept``, ``sd``, ``cor`` or ``sigma``.
    coef, group : str
        The coefficient (``x``, ``Intercept`` for an ``sd``) and grouping factor.

    Returns
    -------
    Dist
        :data:`FLAT` when no row gives a prior.
    """
    classes = ("cor", "L") if class_ in ("cor", "L") else (class_,)
    rows = table[table["class"].isin(classes) & (table["resp"] == "")
                 & (table["dpar"] == "") & (table["nlpar"] == "")]
    where = f"class {class_}" + (f", coef {coef}" if coef else "") + (
        f", group {group}" if group else "")
    for c, g in dict.fromkeys([(coef, group), ("", group), ("", "")]):
        hit = rows[(rows["coef"] == c) & (rows["group"] == g) & (rows["prior"] != "")]
        if len(hit):
            return parse_prior(str(hit["prior"].iloc[0]), where)
    return FLAT


def bounds(table: pd.DataFrame, class_: str) -> tuple[float | None, float | None]:
    """The class-level ``lb``/``ub`` brms gives a class (``sd``/``sigma``: ``lb = 0``)."""
    rows = table[(table["class"] == class_) & (table["coef"] == "") & (table["group"] == "")]
    if not len(rows):
        return None, None
    lb, ub = rows["lb"].iloc[0], rows["ub"].iloc[0]
    return (float(lb) if lb else None, float(ub) if ub else None)


def log_density(dist: Dist) -> Callable[[Any], Any] | None:
    """The log density of ``dist`` as a function of a PyTensor variable (elementwise).

    Returns
    -------
    callable or None
        ``f(x) -> logp(x)`` (PyMC's ``logp`` of the matching distribution; constants do not
        matter to the sampler, and truncation at brms's bounds adds only constants because
        the bounds are fixed), or None for a flat prior.
    """
    import pymc as pm

    a = dist.args
    makers: dict[str, Callable[[], Any]] = {
        "normal": lambda: pm.Normal.dist(mu=a[0], sigma=a[1]),
        "std_normal": lambda: pm.Normal.dist(mu=0.0, sigma=1.0),
        "student_t": lambda: pm.StudentT.dist(nu=a[0], mu=a[1], sigma=a[2]),
        "cauchy": lambda: pm.Cauchy.dist(alpha=a[0], beta=a[1]),
        "double_exponential": lambda: pm.Laplace.dist(mu=a[0], b=a[1]),
        "logistic": lambda: pm.Logistic.dist(mu=a[0], s=a[1]),
        "exponential": lambda: pm.Exponential.dist(lam=a[0]),
        "gamma": lambda: pm.Gamma.dist(alpha=a[0], beta=a[1]),
        "inv_gamma": lambda: pm.InverseGamma.dist(alpha=a[0], beta=a[1]),
        "lognormal": lambda: pm.LogNormal.dist(mu=a[0], sigma=a[1]),
        "weibull": lambda: pm.Weibull.dist(alpha=a[0], beta=a[1]),
        "chi_square": lambda: pm.ChiSquared.dist(nu=a[0]),
        "uniform": lambda: pm.Uniform.dist(lower=a[0], upper=a[1]),
        "beta": lambda: pm.Beta.dist(alpha=a[0], beta=a[1]),
    }
    if dist.flat:
        return None
    if dist.name not in makers:
        raise EngineError(f"engine fast: no density for the prior {dist.text!r}")
    rv = makers[dist.name]()
    return lambda x: pm.logp(rv, x)
