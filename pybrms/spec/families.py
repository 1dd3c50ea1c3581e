"""Response families as data (the way bambi keeps ``BUILTIN_FAMILIES``), with brms's names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError

#: family name -> allowed links (first is brms's default) and the kind of response it takes.
FAMILIES: dict[str, dict] = {
    "gaussian": {"links": ("identity", "log", "inverse"), "response": "real"},
    "student": {"links": ("identity", "log", "inverse"), "response": "real"},
    "skew_normal": {"links": ("identity", "log", "inverse"), "response": "real"},
    "lognormal": {"links": ("identity", "inverse"), "response": "positive"},
    "Gamma": {"links": ("inverse", "identity", "log"), "response": "positive"},
    "bernoulli": {
        "links": ("logit", "probit", "cauchit", "cloglog", "identity"),
        "response": "binary",
    },
    "binomial": {
        "links": ("logit", "probit", "cauchit", "cloglog", "identity"),
        "response": "count_trials",
    },
    "poisson": {"links": ("log", "identity", "sqrt", "softplus"), "response": "count"},
    "negbinomial": {"links": ("log", "identity", "sqrt", "softplus"), "response": "count"},
    "beta": {"links": ("logit", "probit", "cauchit", "cloglog"), "response": "unit"},
}
_ALIASES = {"gamma": "Gamma", "normal": "gaussian", "logistic": "bernoulli"}


@dataclass(frozen=True)
class Family:
    """A response family and link, as brms names them."""

    name: str
    link: str

    @property
    def response_kind(self) -> str:
        """What the response must be: real, positive, binary, count, count_trials or unit."""
        return FAMILIES[self.name]["response"]

    def r_call(self) -> str:
        """The R call a user would write, e.g. ``bernoulli(link = "logit")``."""
        return f'{self.name}(link = "{self.link}")'


def parse_family(spec: str | Family) -> Family:
    """Parse ``"bernoulli"``, ``"bernoulli(link = 'probit')"`` or ``"poisson('log')"``.

    Raises
    ------
    SpecError
        For an unknown family or a link the family does not support; the message lists the
        valid choices.

    """
    if isinstance(spec, Family):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"family must be a string such as 'bernoulli', got {spec!r}")
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*", spec)
    if not m:
        raise SpecError(
            f"cannot read family {spec!r}; write e.g. 'bernoulli' or 'gaussian(link = \"log\")'"
        )
    name = _ALIASES.get(m.group(1), m.group(1))
    if name not in FAMILIES:
        raise SpecError(f"unknown family {m.group(1)!r}; pybrms knows: {', '.join(FAMILIES)}")
    links = FAMILIES[name]["links"]
    link = links[0]
    args = (m.group(2) or "").strip()
    if args:
        am = re.fullmatch(r"(?:link\s*=\s*)?[\"']([A-Za-z_]+)[\"']", args)
        if not am:
            raise SpecError(f'cannot read the link in family {spec!r}; write link = "logit"')
        link = am.group(1)
    if link not in links:
        raise SpecError(f"family {name!r} has no link {link!r}; choose one of {', '.join(links)}")
    return Family(name=name, link=link)
