"""Prior axes without recompiling: numeric constants of prior strings become Stan data.

``normal(0, 10)`` on class ``b`` becomes ``normal(sv_b_1, sv_b_2)`` with the stanvars
``{"sv_b_1": 0.0, "sv_b_2": 10.0}`` (brms ``stanvar(x, name)``), so cells that differ only in the
numbers of their priors give the same Stan program and share one compile. The names depend
only on where a prior sits (class, coef, group, ..., argument position), never on its values.
The conversion lives in :mod:`pybrms.spec.prior_tables` (simulation studies use it too); the
grid-specific ``prior_classes`` expansion lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpecError
from ..spec.prior_tables import literal, to_priors

__all__ = ["expand_classes", "literal", "to_priors"]


def expand_classes(priors: Sequence[Mapping[str, Any]], classes: Sequence[str] | None
                   ) -> list[dict[str, Any]]:
    """Copy each class-``b`` prior (no coef) to every class in ``classes`` not already given.

    ``classes = ["b", "Intercept", "sd"]`` puts the prior written for ``b`` on the Intercept
    and the group-level SDs too (brms makes it half-normal there); ``None`` changes nothing.

    Raises
    ------
    SpecError
        If ``classes`` does not include ``b`` or there is no class-``b`` prior to copy.
    """
    out = [dict(p) for p in priors]
    if not classes or list(classes) == ["b"]:
        return out
    classes = list(classes)
    if "b" not in classes:
        raise SpecError(f"prior_classes {classes} must include 'b' (the class the priors name)")
    source = [p for p in out if p.get("class", "b") == "b" and not p.get("coef")]
    if not source:
        raise SpecError(f"prior_classes {classes}: no prior on class 'b' to copy")
    given = {p.get("class", "b") for p in out}
    for cls in classes:
        if cls not in given:
            out.append({**source[0], "class": cls})
    return out
