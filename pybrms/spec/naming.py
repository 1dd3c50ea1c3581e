"""brms's names for coefficients and group-level parameters, from any engine's labels.

One module so that every engine names a row the same way and rows line up across engines:
population-level effects as brms's ``fixef()`` rows (``Intercept``, ``x1``, ``maleTRUE``,
``IxE2``), group-level standard deviations ``sd_<group>__<term>``, correlations
``cor_<group>__<term1>__<term2>`` and the residual SD ``sigma``.
"""

from __future__ import annotations

import re

#: characters brms's ``rename()`` drops from a coefficient name
_DROP = (" ", "(", ")", "[", "]", ",", '"', "'", "?")
#: characters brms's ``rename()`` spells out
_SPELL = (("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("^", "E"), ("=", "EQ"))
#: a patsy/formulaic level label: ``period[T.2]``, ``C(period)[T.2]``
_PATSY_LEVEL = re.compile(r"(?:C\()?([A-Za-z_.][A-Za-z0-9_.]*)\)?\[T\.([^\]]*)\]")


def brms_term_name(term: str) -> str:
    """Name a population-level term as brms does.

    R's ``(Intercept)`` (lme4) and patsy's ``Intercept`` become ``Intercept``; patsy's level
    labels become R's (``period[T.2]`` -> ``period2``, ``male[T.True]`` -> ``maleTRUE``);
    elsewhere brms's ``rename()`` rules apply: spaces, brackets, quotes and commas are dropped
    and ``+ - * / ^ =`` are spelled ``P M MU D E EQ``, so ``I(x^2)`` becomes ``IxE2``, while
    ``maleTRUE:TOXICITY`` is unchanged.

    Parameters
    ----------
    term : str
        A coefficient label as lme4 (R), statsmodels (patsy) or brms print it.

    Returns
    -------
    str
    """
    if term in ("(Intercept)", "Intercept"):
        return "Intercept"

    def level(m: re.Match[str]) -> str:
        lev = {"True": "TRUE", "False": "FALSE"}.get(m.group(2), m.group(2))
        return m.group(1) + lev

    out = _PATSY_LEVEL.sub(level, term)
    for char in _DROP:
        out = out.replace(char, "")
    for char, repl in _SPELL:
        out = out.replace(char, repl)
    return out


def sd_name(group: str, term: str) -> str:
    """Brms's name of a group-level SD: ``sd_plate__Intercept`` (``a:b`` stays ``a:b``)."""
    return f"sd_{group}__{brms_term_name(term)}"


def cor_name(group: str, term1: str, term2: str) -> str:
    """Brms's name of a group-level correlation: ``cor_g__Intercept__x``."""
    return f"cor_{group}__{brms_term_name(term1)}__{brms_term_name(term2)}"


#: brms's name of the residual standard deviation of gaussian models
SIGMA = "sigma"
