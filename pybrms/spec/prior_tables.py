"""Prior tables as brms priors, with numeric constants as Stan data (one program, many priors).

``normal(0, 10)`` on class ``b`` becomes ``normal(sv_b_1, sv_b_2)`` with the stanvars
``{"sv_b_1": 0.0, "sv_b_2": 10.0}`` (brms ``stanvar(x, name)``), so fits that differ only in the
numbers of their priors (sensitivity cells, simulation-study methods) give the same Stan program
and share one compile. The names depend only on where a prior sits (class, coef, group, ...,
argument position), never on its values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpecError
from .priors import _CALL, Prior, prior

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: distributions whose arguments are named options, left as written
_LITERAL = ("horseshoe", "lasso", "R2D2", "constant")


def _slot(p: Mapping[str, Any]) -> str:
    parts = [p.get("class", "b")] + [str(p.get(k) or "") for k in
                                     ("coef", "group", "resp", "dpar", "nlpar")]
    text = "_".join(x for x in parts if x)
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def to_priors(priors: Sequence[Mapping[str, Any]] | None, as_data: bool
              ) -> tuple[list[Prior], dict[str, float]]:
    """Prior tables -> :class:`~pybrms.spec.priors.Prior` objects and stanvars.

    Parameters
    ----------
    priors : sequence of mapping
        ``{"prior": "normal(0, 10)", "class": "b", ...}`` tables (as in a grid file).
    as_data : bool
        Put numeric constants in as named data (needs the brms engine's ``stanvars``);
        False keeps the numbers in the prior strings.

    Returns
    -------
    list of Prior, dict
        The priors, and the stanvars (empty when ``as_data`` is False).
    """
    out: list[Prior] = []
    stanvars: dict[str, float] = {}
    for p in priors or []:
        text = str(p["prior"])
        kwargs = {k: p[k] for k in ("coef", "group", "resp", "dpar", "nlpar", "lb", "ub")
                  if p.get(k) is not None}
        cls = p.get("class", "b")
        prior(text, class_=cls, **kwargs)  # the literal prior must be valid: clear errors
        m = _CALL.match(text)
        if as_data and m and m.group(1) not in _LITERAL and m.group(2).strip():
            args = [a.strip() for a in m.group(2).split(",")]
            slot = _slot(p)
            named = []
            for i, a in enumerate(args, start=1):
                if _NUMBER.match(a):
                    name = f"sv_{slot}_{i}"
                    if name in stanvars:
                        raise SpecError(f"two priors on {slot!r}: give each a different coef")
                    stanvars[name] = float(a)
                    named.append(name)
                else:
                    named.append(a)
            text = f"{m.group(1)}({', '.join(named)})"
            out.append(_unchecked(text, cls, kwargs))
        else:
            out.append(prior(text, class_=cls, **kwargs))
    return out, stanvars


def _unchecked(text: str, cls: str, kwargs: Mapping[str, Any]) -> Prior:
    """A :class:`Prior` whose arguments are data names (checked above in literal form)."""
    try:
        return prior(text, class_=cls, **kwargs)
    except SpecError:
        obj = object.__new__(Prior)
        values = {"prior": text, "class_": cls, "coef": "", "group": "", "resp": "",
                  "dpar": "", "nlpar": "", "lb": None, "ub": None, **kwargs}
        for k, v in values.items():
            object.__setattr__(obj, k, v)
        return obj


def literal(priors: Sequence[Prior], stanvars: Mapping[str, float]) -> list[str]:
    """The priors with their data names replaced by the numbers (for reports)."""
    out = []
    for p in priors:
        text = p.prior
        for name, value in stanvars.items():
            text = re.sub(rf"\b{re.escape(name)}\b", f"{value:g}", text)
        out.append(f"{text} [{p.class_}{'/' + p.coef if p.coef else ''}]")
    return out
