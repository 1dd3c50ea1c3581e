"""The population-level coefficients a formula gives on a dataset, named as brms names them.

What R's ``model.matrix()`` makes of a formula's population-level part with treatment
contrasts, in pure Python: the intercept (unless ``0``/``-1``), a numeric column as itself, a
logical column as ``xTRUE``, a text or categorical column as one coefficient per level after
the first (levels observed in the data: sorted text, or the categories' order), and an
interaction as the ``:``-joined product of its parts. A factor inside a term is coded by all
its levels instead when the term without it is not in the model (R's rule: ``x:f`` without
``f`` gives every level of ``f``; without an intercept, so does the first factor main
effect: ``0 + f + g`` gives every level of ``f``). Names then pass through :func:`~pybrms.spec.naming.brms_term_name`, as
every engine's tidy rows do, so they are the ``term`` values lme4 and statsmodels report.

Only what Python can name exactly is named: a formula with a function call (``log(x)``,
``poly(x, 2)``), ``.``, or brms's model language gives None (the caller then does not judge
terms it cannot know).
"""

from __future__ import annotations

import re
from itertools import product

import pandas as pd

from ..errors import SpecError
from .formula import _NAME, Formula, parse_formula
from .naming import brms_term_name
from .terms import _TermParser

_PLAIN_TERM = re.compile(rf"^-?\s*(?:{_NAME}|[0-9]+|[\s*:()+-])+$")


def _levels(col: pd.Series) -> list[str] | None:
    """A factor's levels as R would have them; None for a numeric column."""
    if pd.api.types.is_bool_dtype(col):
        return ["FALSE", "TRUE"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        seen = set(col.dropna().astype(str))
        return [str(c) for c in col.cat.categories if str(c) in seen]
    if pd.api.types.is_numeric_dtype(col):
        return None
    return sorted({str(v) for v in col.dropna()})


def _rhs_text(fixed: tuple[str, ...]) -> str:
    text = ""
    for term in fixed:
        t = term.strip()
        if t.startswith("-"):
            text += f" - {t[1:].strip()}" if text else f"1 - {t[1:].strip()}"
        else:
            text += f" + {t}" if text else t
    return text or "1"


def coefficient_names(formula: Formula | str, data: pd.DataFrame) -> list[str] | None:
    """The population-level coefficient names of ``formula`` on ``data``, or None.

    Parameters
    ----------
    formula : Formula or str
        A brms formula; its response and group-level terms are ignored.
    data : DataFrame
        The rows the model is fitted on (levels are those observed).

    Returns
    -------
    list of str or None
        brms's names (``Intercept``, ``periodP2``, ``x:fb``), or None when the formula has a
        function call, ``.``, a column missing from ``data``, or is written in brms's model
        language.
    """
    parsed = formula if isinstance(formula, Formula) else parse_formula(formula)
    if not parsed.is_plain or not all(_PLAIN_TERM.match(t) for t in parsed.fixed):
        return None
    rhs = _rhs_text(parsed.fixed)
    try:
        terms = [t for t in _TermParser(rhs).parse() if t]
    except SpecError:
        return None
    order: dict[str, int] = {}
    for m in re.finditer(_NAME, rhs):
        order.setdefault(m.group(0), len(order))
    variables = {v for t in terms for v in t}
    if not variables <= set(data.columns):
        return None
    levels = {v: _levels(data[v]) for v in variables}
    terms.sort(key=len)  # R orders terms by degree: main effects first
    present = set(terms)
    intercept = parsed.has_intercept
    # without an intercept R codes the first factor main effect by all its levels
    first = next((t for t in terms if len(t) == 1 and levels[next(iter(t))] is not None), None)
    names = ["Intercept"] if intercept else []
    for term in terms:
        parts: list[list[str]] = []
        for v in sorted(term, key=order.__getitem__):
            lev = levels[v]
            if lev is None:
                parts.append([v])
                continue
            margin = term - {v}
            contrasts = (margin in present) if margin else (intercept or term != first)
            parts.append([f"{v}{x}" for x in (lev[1:] if contrasts else lev)])
        for combo in product(*parts):
            name = brms_term_name(":".join(combo))
            if name not in names:
                names.append(name)
    return names
