"""Population-level terms of a plain formula, read the way R's ``terms()`` reads them.

:func:`fixed_terms` expands ``a * b``, ``(a + b):c`` and ``-`` into the model's terms (each a
set of variables), :func:`split_formula` splits a formula into response, population-level part
and group-level terms, and :func:`coefficient_term` says which term a coefficient name such as
``youngerTRUE:TOXICITY`` belongs to. Pure Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import SpecError
from .formula import _GROUP, _NAME, _TOKEN, _split_top, brms_only_calls, parse_formula


class _TermParser:
    """Recursive-descent expansion of a formula's population-level part, as R's ``terms()``.

    Grammar: ``sum := prod (('+'|'-') prod)*``, ``prod := inter ('*' inter)*``,
    ``inter := atom (':' atom)*``, ``atom := name | number | '(' sum ')'``. ``a*b`` is
    ``a + b + a:b``; ``(a + b):x`` is ``a:x + b:x``; ``- t`` removes ``t``.
    """

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise SpecError(f"cannot read {text[pos:]!r} in the population-level terms")
            self.tokens.append(m.group(m.lastgroup or "name"))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise SpecError("population-level terms end too early")
        self.i += 1
        return tok

    def parse(self) -> list[frozenset[str]]:
        terms = self.sum()
        if self.peek() is not None:
            raise SpecError(f"unexpected {self.peek()!r} in the population-level terms")
        return terms

    def sum(self) -> list[frozenset[str]]:
        terms = list(self.prod())
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.prod()
            if op == "+":
                terms += [t for t in right if t not in terms]
            else:
                terms = [t for t in terms if t not in right]
        return terms

    def prod(self) -> list[frozenset[str]]:
        terms = self.inter()
        while self.peek() == "*":
            self.take()
            right = self.inter()
            crossed = [a | b for a in terms for b in right]
            terms = _unique(terms + right + crossed)
        return terms

    def inter(self) -> list[frozenset[str]]:
        terms = self.atom()
        while self.peek() == ":":
            self.take()
            right = self.atom()
            terms = _unique([a | b for a in terms for b in right])
        return terms

    def atom(self) -> list[frozenset[str]]:
        tok = self.take()
        if tok == "(":
            terms = self.sum()
            if self.take() != ")":
                raise SpecError("unbalanced parentheses in the population-level terms")
            return terms
        if tok.isdigit():
            return [frozenset()]  # 1 or 0: the intercept, not a term
        if tok in "+-*:)":
            raise SpecError(f"unexpected {tok!r} in the population-level terms")
        return [frozenset({tok})]


def _unique(terms: list[frozenset[str]]) -> list[frozenset[str]]:
    """Drop repeated terms, keeping the first."""
    out: list[frozenset[str]] = []
    for t in terms:
        if t not in out:
            out.append(t)
    return out


def split_formula(formula: str) -> tuple[str, str, list[str]]:
    """Split a plain brms formula into response, population-level part and group-level terms.

    The formula is read by :func:`parse_formula`; a *plain* formula is the subset of brms
    whose terms :func:`fixed_terms` can expand without R: the response is a column name (no
    ``log(y)``, no addition terms such as ``| trials(n)``), the population-level part has no
    function calls (none of :data:`BRMS_ONLY_CALLS` either), and a group-level term is
    ``(lhs | group)`` with ``group`` column names joined by ``/`` or ``:`` (no ``||``,
    correlation IDs, ``gr()`` or backticks).

    Parameters
    ----------
    formula : str
        e.g. ``"y ~ a * b + (1 | user_id/conversation_id) + (1 | model_name)"``.

    Returns
    -------
    tuple
        ``(response, fixed_part, group_terms)`` with group terms as written, e.g.
        ``["(1 | user_id/conversation_id)", "(1 | model_name)"]``.

    Raises
    ------
    SpecError
        If there is not exactly one ``~``, the response is not a column name, the
        population-level part calls a brms-only term, or a group-level term is malformed.
    """
    parsed = parse_formula(formula)
    if parsed.addition or not re.fullmatch(_NAME, parsed.response):
        lhs = " | ".join([parsed.response, *(f"{k}({v})" for k, v in parsed.addition.items())])
        raise SpecError(f"response {lhs!r} of {formula!r} must be a column name")
    # The population-level part is handed to fixed_terms() as written: its top-level '+'
    # chunks that are not group-level terms (parse_formula also splits off '- term', which
    # fixed_terms() reads itself).
    written = {g.text: g for g in parsed.groups}
    fixed: list[str] = []
    groups: list[str] = []
    for chunk in _split_top(_split_top(formula, "~")[1], "+"):
        part = chunk.strip()
        g = written.get(part)
        if g is None:
            fixed.append(part)
            continue
        # parse_formula reads brms's (x || g), (1 | ID | g) and gr(g, ...); plain formulas
        # have none of them
        if "".join(part.split()) != "".join(f"({g.lhs}|{g.group})".split()):
            raise SpecError(f"group-level term {part!r} must look like '(1 | group)'")
        if not re.fullmatch(_GROUP, g.group):
            raise SpecError(f"grouping factor of {part!r} is not a column name")
        groups.append(part)
    special = brms_only_calls(" + ".join(fixed))
    if special:
        raise SpecError(f"{formula!r} uses the brms-only term(s) {', '.join(special)}; only "
                        "plain column names and + - * : can be expanded")
    return parsed.response, " + ".join(fixed) or "1", groups


def fixed_terms(formula: str) -> tuple[tuple[str, ...], ...]:
    """Expand the population-level part of a plain brms formula into its terms.

    Variables inside an interaction are ordered by their first appearance in the formula,
    as R's ``terms()`` orders them; brms names the coefficient of the term
    ``("younger", "TOXICITY")`` of a logical ``younger`` ``youngerTRUE:TOXICITY``.

    Parameters
    ----------
    formula : str
        A plain brms formula (see :func:`split_formula`).

    Returns
    -------
    tuple of tuple of str
        E.g. ``(("younger",), ("TOXICITY",), ("younger", "TOXICITY"))``.

    Raises
    ------
    SpecError
        If the formula cannot be read or is not plain.
    """
    _, fixed, _ = split_formula(formula)
    order: dict[str, int] = {}
    for m in re.finditer(_NAME, fixed):
        order.setdefault(m.group(0), len(order))
    terms = _TermParser(fixed).parse()
    return tuple(tuple(sorted(t, key=order.__getitem__)) for t in terms if t)


def coefficient_term(coef: str, terms: Iterable[tuple[str, ...]]) -> tuple[str, ...] | None:
    """Map a brms coefficient name back to the formula term it belongs to.

    Each ``:``-separated part is a variable of the formula, or a variable followed by a factor
    level (``youngerTRUE`` is ``younger`` at level ``TRUE``; the level must start with a
    letter or digit, so ``TOXICITY_human`` never matches ``TOXICITY``).

    Parameters
    ----------
    coef : str
        e.g. ``"youngerTRUE:TOXICITY"``.
    terms : iterable of tuple of str
        The formula's terms, from :func:`fixed_terms`.

    Returns
    -------
    tuple of str or None
        The matching term, or None if the coefficient is not in the formula.
    """
    terms = tuple(terms)
    variables = {v for t in terms for v in t}
    mapped: list[str] = []
    for part in coef.split(":"):
        if part in variables:
            mapped.append(part)
            continue
        prefixes = [v for v in variables if part.startswith(v) and part[len(v):][:1].isalnum()]
        if not prefixes:
            return None
        mapped.append(max(prefixes, key=len))
    found = tuple(mapped)
    return found if found in terms else None
