"""What the fast engine can express, judged in Python before R or data are touched."""

from __future__ import annotations

import importlib.util

from ...errors import EngineError
from ...spec.formula import brms_only_calls
from ...spec.model import FitSpec
from . import model, priors

#: how to add the fast engine's packages (never from PyPI's unrelated ``pybrms``)
FAST_INSTALL = ("pip install -c constraints.txt -e '.[fast]' in the pybrms checkout (or install "
                "pymc and nutpie into this environment); never pip install pybrms from PyPI, "
                "which is another project")


def check(spec: FitSpec) -> None:
    """Raise :class:`~pybrms.errors.EngineError` if the fast engine cannot fit ``spec``.

    Pure Python: no R, no data needed (a :meth:`FitSpec.without_data` spec works).

    Raises
    ------
    EngineError
        Naming the family or link, addition term, formula term or prior; or saying that
        pymc/nutpie are not installed.
    """
    parsed, fam = spec.formula, spec.family
    missing = [m for m in ("pymc", "nutpie") if importlib.util.find_spec(m) is None]
    if missing:
        raise EngineError(
            f"engine fast needs {' and '.join(missing)}: {FAST_INSTALL}"
        )
    if not getattr(parsed, "is_plain", True):
        raise EngineError(
            f"engine fast cannot express {parsed.text!r}: brms's model language (bf(), lf(), "
            "nlf(), mvbind(): distributional, non-linear and multivariate models) is brms-only"
        )
    if fam.name not in model.LINKS:
        raise EngineError(
            f"engine fast cannot fit family {fam.name!r}; it fits "
            f"{', '.join(model.LINKS)}"
        )
    links = model.LINKS[fam.name]
    if fam.link not in links:
        raise EngineError(
            f"engine fast fits family {fam.name!r} with link {' or '.join(map(repr, links))}, "
            f"not {fam.link!r}"
        )
    extra = sorted(set(parsed.addition) - {"trials"})
    if extra:
        raise EngineError(
            f"engine fast cannot express the addition term(s) "
            f"{', '.join(f'{k}({parsed.addition[k]})' for k in extra)} in {parsed.text!r}"
        )
    if parsed.is_cbind:
        raise EngineError(
            f"engine fast cannot read the response {parsed.response!r}; write brms's "
            "'successes | trials(n)'"
        )
    if fam.name == "binomial" and "trials" not in parsed.addition:
        raise EngineError(f"family binomial needs 'y | trials(n)'; got {parsed.text!r}")
    if fam.name != "binomial" and "trials" in parsed.addition:
        raise EngineError(f"addition term trials(...) needs family binomial, not {fam.name!r}")
    for term in parsed.fixed:
        calls = brms_only_calls(term)
        if calls:
            raise EngineError(
                f"engine fast cannot express the term {term!r} ({calls[0]}() is brms-only)"
            )
    for g in parsed.groups:
        text = g.text or f"({g.lhs} | {g.group})"
        if g.cor_id:
            raise EngineError(
                f"engine fast cannot express the group-level term {text!r}: correlation "
                "IDs '(lhs | ID | group)' are brms-only"
            )
        if g.gr:
            raise EngineError(f"engine fast cannot express the grouping gr(...) in {text!r}")
        calls = brms_only_calls(g.lhs)
        if calls:
            raise EngineError(
                f"engine fast cannot express the group-level term {text!r} "
                f"({calls[0]}() is brms-only)"
            )
    priors.check_priors(spec.priors)

