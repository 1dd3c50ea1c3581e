"""Priors as validated Python objects that the bridge turns into ``brms::set_prior()`` calls."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from ..errors import SpecError

#: distribution -> (number of arguments, indices of arguments that must be > 0)
DISTRIBUTIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "normal": ((2,), (1,)),
    "std_normal": ((0,), ()),
    "student_t": ((3,), (0, 2)),
    "cauchy": ((2,), (1,)),
    "double_exponential": ((2,), (1,)),
    "logistic": ((2,), (1,)),
    "skew_normal": ((3,), (1,)),
    "exponential": ((1,), (0,)),
    "gamma": ((2,), (0, 1)),
    "inv_gamma": ((2,), (0, 1)),
    "lognormal": ((2,), (1,)),
    "chi_square": ((1,), (0,)),
    "weibull": ((2,), (0, 1)),
    "beta": ((2,), (0, 1)),
    "uniform": ((2,), ()),
    "von_mises": ((2,), (1,)),
    "lkj": ((1,), (0,)),
    "lkj_corr_cholesky": ((1,), (0,)),
    "constant": ((1,), ()),
    "horseshoe": ((0, 1, 2, 3, 4, 5, 6), ()),
    "lasso": ((0, 1, 2), ()),
    "R2D2": ((0, 1, 2, 3, 4), ()),
}
#: parameter classes brms knows (``dpar`` names such as sigma are classes too); a record,
#: not a gate: brms's build step judges the class of a prior
CLASSES = frozenset(
    {
        "b",
        "Intercept",
        "sd",
        "sigma",
        "cor",
        "L",
        "shape",
        "nu",
        "phi",
        "alpha",
        "ar",
        "ma",
        "sds",
        "simo",
        "Ymi",
        "zi",
        "hu",
        "disc",
        "beta",
        "ndt",
        "bs",
        "lncor",
        "cortime",
        "sderr",
        "rescor",
        "Lrescor",
        "meanme",
        "sdme",
        "car",
        "sdcar",
        "rhocar",
        "lagsar",
        "errorsar",
        "xi",
        "kappa",
        "mu",
        "theta",
        "quantile",
        "bias",
    }
)
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.S)


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _number(text: str, where: str) -> float:
    try:
        return float(text.strip())
    except ValueError as exc:
        raise SpecError(f"prior {where!r}: argument {text.strip()!r} is not a number") from exc


@dataclass(frozen=True)
class Prior:
    """One brms prior statement, the Python twin of ``brms::set_prior()``.

    Parameters
    ----------
    prior : str
        A Stan distribution call, e.g. ``"normal(0, 1e6)"``.
    class_ : str
        The parameter class (``b``, ``Intercept``, ``sd``, ``sigma``, ``cor``...).
    coef, group, resp, dpar, nlpar : str
        Narrow the prior as in brms.
    lb, ub : float, optional
        Bounds (only for non-standard parameters in brms).

    """

    prior: str
    class_: str = "b"
    coef: str = ""
    group: str = ""
    resp: str = ""
    dpar: str = ""
    nlpar: str = ""
    lb: float | None = None
    ub: float | None = None

    def __post_init__(self) -> None:
        validate_distribution(self.prior)
        if not isinstance(self.class_, str) or not re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*",
                                                                  self.class_):
            raise SpecError(
                f"prior {self.prior!r}: class_ must be a parameter class name such as 'b', "
                f"'Intercept', 'sd', 'sigma' (brms judges which exist), got {self.class_!r}"
            )
        for name in ("coef", "group", "resp", "dpar", "nlpar"):
            if not isinstance(getattr(self, name), str):
                raise SpecError(f"prior {self.prior!r}: {name} must be a string")

    def to_dict(self) -> dict:
        """The fields as a plain dict (used for provenance and the R call)."""
        return asdict(self)


def validate_distribution(text: str, numeric: bool = False) -> str:
    """Check a prior's distribution call as far as Python knows it exactly.

    A known distribution (:data:`DISTRIBUTIONS`) with numeric arguments is checked for its
    number of arguments and their ranges; other distributions, and arguments that are Stan
    names (data passed with ``stanvars``) or expressions, are left to brms and Stan.
    ``numeric=True`` (a replication spec) also demands numbers for every argument.

    Returns
    -------
    str
        The distribution's name, e.g. ``"normal"`` for ``"normal(0, 1e6)"``.

    Raises
    ------
    SpecError
        Naming the distribution or argument at fault.

    """
    if not isinstance(text, str):
        raise SpecError("a prior must be a distribution call such as 'normal(0, 1e6)'")
    if not text.strip():
        return ""  # brms's flat (improper) prior
    m = _CALL.match(text)
    if not m:
        raise SpecError(f"prior {text!r} is not a distribution call such as 'normal(0, 1e6)'")
    name, args_text = m.group(1), m.group(2).strip()
    if args_text.count("(") != args_text.count(")"):
        raise SpecError(f"prior {text!r}: unbalanced parentheses")
    args = [a for a in args_text.split(",")] if args_text else []
    if numeric:
        for a in args:
            _number(a, text)
    if name not in DISTRIBUTIONS or not all(_is_number(a) for a in args):
        # a distribution Python does not know, or arguments that are Stan names or
        # expressions (stanvars): brms and Stan judge them
        return name
    counts, positive = DISTRIBUTIONS[name]
    if len(args) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise SpecError(f"prior {text!r}: {name} takes {want} arguments, got {len(args)}")
    if name in ("horseshoe", "lasso", "R2D2"):
        return name  # named arguments; brms checks them
    values = [_number(a, text) for a in args]
    for v in values:
        if math.isnan(v):
            raise SpecError(f"prior {text!r}: NaN argument")
    for i in positive:
        if i < len(values) and not values[i] > 0:
            raise SpecError(
                f"prior {text!r}: argument {i + 1} of {name} must be > 0, got {values[i]}"
            )
    if name == "uniform" and not values[0] < values[1]:
        raise SpecError(f"prior {text!r}: uniform needs lower < upper")
    return name


def prior(
    prior: str,
    class_: str = "b",
    coef: str = "",
    group: str = "",
    resp: str = "",
    dpar: str = "",
    nlpar: str = "",
    lb: float | None = None,
    ub: float | None = None,
) -> Prior:
    """Build a validated :class:`Prior` (``pybrms.prior("normal(0, 1e6)", class_="b")``)."""
    return Prior(prior, class_, coef, group, resp, dpar, nlpar, lb, ub)
