"""Response families with brms's names: any family brms has, read as far as Python needs.

pybrms keeps no list of *allowed* families: a family is R code (``"cumulative('probit')"``,
``"sratio(threshold = 'equidistant')"``, ``"weibull"``, ``custom_family(...)``) or a call built
with :func:`pybrms.family`, handed to brms unchanged, and brms's build step judges it.
:data:`FAMILIES` only records what Python can check exactly about the *response* of the
families it knows (0/1 for bernoulli, counts for poisson...) and their default links, which
the lme4 and statsmodels engines need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SpecError
from .language import split_top
from .rcode import RCall, RCode, RExpr

#: family -> default link and the kind of response it takes (data checks, other engines).
FAMILIES: dict[str, dict] = {
    "gaussian": {"link": "identity", "response": "real"},
    "student": {"link": "identity", "response": "real"},
    "skew_normal": {"link": "identity", "response": "real"},
    "lognormal": {"link": "identity", "response": "positive"},
    "Gamma": {"link": "inverse", "response": "positive"},
    "bernoulli": {"link": "logit", "response": "binary"},
    "binomial": {"link": "logit", "response": "count_trials"},
    "poisson": {"link": "log", "response": "count"},
    "negbinomial": {"link": "log", "response": "count"},
    "geometric": {"link": "log", "response": "count"},
    "zero_inflated_poisson": {"link": "log", "response": "count"},
    "zero_inflated_negbinomial": {"link": "log", "response": "count"},
    "hurdle_poisson": {"link": "log", "response": "count"},
    "hurdle_negbinomial": {"link": "log", "response": "count"},
    "beta": {"link": "logit", "response": "unit"},
}
#: pybrms's historical spellings of brms families
_ALIASES = {"gamma": "Gamma", "normal": "gaussian", "logistic": "bernoulli"}
_HEAD = re.compile(r"^\s*([A-Za-z.][A-Za-z0-9._]*)\s*(\(.*\))?\s*$", re.S)


@dataclass(frozen=True)
class Family:
    """A brms response family.

    Attributes
    ----------
    name : str
        brms's family name, e.g. ``"bernoulli"``, ``"cumulative"``.
    link : str or None
        The link when given or known (brms's default for the families in :data:`FAMILIES`);
        None leaves it to brms.
    code : str
        R code for the family, as written (empty: ``brmsfamily(name, link)``).
    """

    name: str
    link: str | None = None
    code: str = field(default="", compare=False)
    expr: RExpr | None = field(default=None, compare=False, repr=False)

    @property
    def response_kind(self) -> str | None:
        """What the response must be (real, positive, binary, count, count_trials, unit), or
        None for a family whose response Python does not check (brms does).
        """
        known = FAMILIES.get(self.name)
        return known["response"] if known else None

    @property
    def known(self) -> bool:
        """True when Python knows this family's response and default link."""
        return self.name in FAMILIES

    def r_call(self) -> str:
        """The R code a user would write, e.g. ``bernoulli(link = "logit")``."""
        if self.code:
            return self.code
        return f'{self.name}(link = "{self.link}")' if self.link else f"{self.name}()"

    def r_object(self) -> RExpr:
        """The family as the R object ``brm()`` receives (evaluated by the bridge)."""
        if self.expr is not None:
            return self.expr
        if self.code:
            return RCode(self.code)
        return RCall("brmsfamily", self.name, **({"link": self.link} if self.link else {}))


def _link_of(args: str) -> str | None:
    """The link in a family call's argument text: ``link = "x"`` or the first positional."""
    for i, arg in enumerate(a.strip() for a in split_top(args, ",")):
        m = re.fullmatch(r"(?:link\s*=\s*)?[\"']([A-Za-z0-9_.]+)[\"']", arg)
        if m and (i == 0 or arg.startswith("link")):
            return m.group(1)
    return None


def parse_family(spec: str | Family | RExpr) -> Family:
    """Read a family: ``"bernoulli"``, ``"binomial(link = 'probit')"``, ``"cumulative('probit')"``,
    ``"sratio(threshold = 'equidistant')"``, ``"custom_family(...)"`` or :func:`pybrms.family`.

    Any family brms has is accepted; brms's build step judges names and links it does not know.

    Raises
    ------
    SpecError
        If ``spec`` is not a family name or a call (e.g. empty, or unbalanced brackets).
    """
    if isinstance(spec, Family):
        return spec
    if isinstance(spec, RCall):
        args = list(spec.args)
        name = spec.fn
        if name == "brmsfamily" and args:
            name, args = str(args[0]), args[1:]
        link = spec.kwargs.get("link") or (
            args[0] if args and isinstance(args[0], str) and name != "custom_family" else None)
        name = _ALIASES.get(name, name)
        link = link or FAMILIES.get(name, {}).get("link")
        return Family(name=name, link=link, code=spec.code(), expr=spec)
    if isinstance(spec, RCode):
        spec = spec.text
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"family must be a string such as 'bernoulli', got {spec!r}")
    m = _HEAD.match(spec)
    if not m:
        raise SpecError(
            f"cannot read family {spec!r}; write e.g. 'bernoulli', 'cumulative(\"probit\")' "
            "or 'gaussian(link = \"log\")'"
        )
    name = _ALIASES.get(m.group(1), m.group(1))
    args = (m.group(2) or "")[1:-1].strip()
    if name == "brmsfamily" and args:
        first = split_top(args, ",")[0].strip().strip("\"'")
        name = _ALIASES.get(first, first)
        args = ", ".join(split_top(args, ",")[1:])
    link = (_link_of(args) if args and name != "custom_family" else None) \
        or FAMILIES.get(name, {}).get("link")
    if m.group(2) is None:
        return Family(name=name, link=link)
    RCode(spec)  # brackets and quotes balance
    return Family(name=name, link=link, code=spec.strip())


def family(name: str, *args, **kwargs) -> Family:
    """A brms family from Python values: ``family("cumulative", "probit", threshold="flexible")``
    is R's ``cumulative("probit", threshold = "flexible")``.
    """
    return parse_family(RCall(name, *args, **kwargs))


__all__ = ["FAMILIES", "Family", "family", "parse_family"]
