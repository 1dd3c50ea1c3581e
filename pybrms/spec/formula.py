"""Parse brms formula strings in pure Python (no R) to validate data before any Stan compile.

Only the parts pybrms must check are parsed: the response and its addition terms
(``y | trials(n)``, ``cbind(s, f)``), population-level terms and group-level terms
(``(1 | a/b)``, ``(x || g)``, ``(1 | a:b)``). The formula text itself is handed to brms
unchanged, so brms stays the authority on what it means.

For plain formulas (column names joined by ``+ - * :`` and parentheses, group-level terms
``(lhs | group)``) :func:`fixed_terms` also expands the population-level part into its terms
as R's ``terms()`` does, and :func:`coefficient_term` maps a brms coefficient name back to
its term. :data:`BRMS_ONLY_CALLS` names brms's special terms, which other engines cannot fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SpecError
from .language import Language, is_language, mi_columns, read_language
from .rcode import RCode, RExpr, RFormula

#: An R name that needs no backticks: a data column or a function.
_NAME = r"[A-Za-z.][A-Za-z0-9._]*"
_IDENT = re.compile(rf"`[^`]+`|{_NAME}")
_NUMBER = re.compile(r"^[0-9.]+([eE][-+]?[0-9]+)?$")
#: names that are R constants or operators, never data columns
_R_CONSTANTS = frozenset({"TRUE", "FALSE", "T", "F", "NA", "NULL", "Inf", "NaN", "pi", "."})
#: brms-only special terms (monotonic, splines, Gaussian processes, measurement error,
#: missing values, category-specific, multi-membership, autocorrelation, shrinkage priors,
#: ``gr()`` grouping) that lme4 and statsmodels formulas cannot express.
BRMS_ONLY_CALLS: tuple[str, ...] = (
    "mo", "s", "t2", "gp", "me", "mi", "cs", "mm", "mmc", "car", "ar", "arma", "ma", "cosy",
    "sar", "lasso", "horseshoe", "gr", "cse",
)
_BRMS_ONLY_CALL = re.compile(r"(?<![A-Za-z0-9._])(" + "|".join(BRMS_ONLY_CALLS) + r")\s*\(")
#: A grouping expression of a plain formula: column names joined by ``/`` (nesting) or ``:``.
_GROUP = rf"{_NAME}(?:\s*[/:]\s*{_NAME})*"
_TOKEN = re.compile(rf"\s*(?:(?P<name>{_NAME})|(?P<num>[0-9]+)|(?P<op>[-+*:()]))")


@dataclass(frozen=True)
class GroupTerm:
    """A group-level term ``(lhs | group)`` or ``(lhs || group)``.

    Attributes
    ----------
    lhs : str
        The varying effects, e.g. ``"1"`` or ``"Days"``.
    group : str
        The grouping expression as written, e.g. ``"user_id/conversation_id"``.
    factors : list of str
        The grouping factors brms creates: ``a/b`` expands to ``["a", "a:b"]``.
    correlated : bool
        False for ``||`` (uncorrelated varying effects).
    text : str
        The term as written in the formula, e.g. ``"(1 | user_id/conversation_id)"``
        (not compared: two terms that mean the same are equal however they are spelled).
    cor_id : str
        brms's correlation ID of ``(lhs | ID | group)``, shared between the terms that name
        it (empty when there is none).
    gr : bool
        True when the grouping is written with brms's ``gr(...)``.

    """

    lhs: str
    group: str
    factors: tuple[str, ...]
    correlated: bool = True
    text: str = field(default="", compare=False)
    cor_id: str = ""
    gr: bool = False

    @property
    def variables(self) -> set[str]:
        """Data columns used by this term."""
        out = set(_variables(self.lhs))
        for fac in self.factors:
            out.update(fac.split(":"))
        return out


@dataclass(frozen=True)
class Formula:
    """A parsed brms formula.

    Attributes
    ----------
    text : str
        The formula exactly as given.
    response : str
        The response expression, e.g. ``"y"``, ``"log(score)"``, ``"cbind(s, f)"``.
    addition : dict
        Addition terms after ``|`` on the left: ``{"trials": "n"}``.
    fixed : list of str
        Population-level terms (``"1"``/``"0"`` for an explicit intercept choice included).
    groups : list of GroupTerm
        Group-level terms.

    """

    text: str
    response: str
    addition: dict[str, str] = field(default_factory=dict)
    fixed: tuple[str, ...] = ()
    groups: tuple[GroupTerm, ...] = ()
    kind: str = "plain"
    parts: tuple[Formula, ...] = field(default=(), compare=False)
    language: Language | None = field(default=None, compare=False)
    expr: RExpr | None = field(default=None, compare=False, repr=False)

    @property
    def is_plain(self) -> bool:
        """True for one formula any engine may read; False for ``bf()``/``mvbind()``/``+ lf()``
        formulas of brms's model language (only brms fits those).
        """
        return self.kind == "plain"

    def r_object(self) -> RExpr:
        """The formula as the R object ``brm()`` receives (evaluated by the bridge)."""
        if self.expr is not None:
            return self.expr
        return RFormula(self.text) if self.is_plain else RCode(self.text)

    @property
    def missing_modelled(self) -> set[str]:
        """Columns whose missing values the formula models with ``mi()``."""
        return mi_columns(self.text)

    @property
    def response_variables(self) -> set[str]:
        """Columns used by the response expression and its addition terms."""
        out = set(_variables(self.response))
        for arg in self.addition.values():
            out.update(_variables(arg))
        return out

    @property
    def fixed_variables(self) -> set[str]:
        """Columns used by population-level terms."""
        out: set[str] = set()
        for term in self.fixed:
            out.update(_variables(term))
        return out

    @property
    def group_factors(self) -> set[str]:
        """Columns used as grouping factors."""
        out: set[str] = set()
        for part in self.parts:
            out |= part.group_factors
        for g in self.groups:
            for fac in g.factors:
                out.update(fac.split(":"))
        return out

    @property
    def variables(self) -> set[str]:
        """Every data column the formula uses (for brms's model language: every name that may
        be a column; non-linear parameters too, which data checks skip when not columns).
        """
        if not self.is_plain:
            out: set[str] = set()
            for part in self.parts:
                out |= part.variables
            return out
        out = self.response_variables | self.fixed_variables
        for g in self.groups:
            out |= g.variables
        return out

    @property
    def is_cbind(self) -> bool:
        """True when the response is ``cbind(successes, failures)``."""
        return self.response.replace(" ", "").startswith("cbind(")

    @property
    def has_intercept(self) -> bool:
        """False when ``0`` or ``-1`` removes the population-level intercept."""
        return not any(t in ("0", "-1", "- 1") for t in self.fixed)


def _variables(expr: str) -> list[str]:
    """Return the data variables of an R expression: identifiers that are not calls."""
    out: list[str] = []
    # string literals (s(x, bs = "cr")) hold no variables
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    for m in _IDENT.finditer(expr):
        name = m.group(0)
        rest = expr[m.end() :].lstrip()
        if rest.startswith("("):  # a function call such as log( or trials(
            continue
        if rest.startswith("=") and not rest.startswith("=="):  # a named argument: k = 5
            continue
        if name.startswith("`"):
            name = name[1:-1]
        if name in _R_CONSTANTS or _NUMBER.match(name):
            continue
        # a number such as 1e6 is caught above; a leading '.' followed by digits too
        if re.fullmatch(r"\.[0-9]+", name):
            continue
        if name not in out:
            out.append(name)
    return out


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is not inside parentheses or backticks."""
    parts: list[str] = []
    depth = 0
    in_tick = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            in_tick = not in_tick
        elif not in_tick and ch == "(":
            depth += 1
        elif not in_tick and ch == ")":
            depth -= 1
            if depth < 0:
                raise SpecError(f"unbalanced ')' in formula part {text!r}")
        elif not in_tick and depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    if depth != 0:
        raise SpecError(f"unbalanced '(' in formula part {text!r}")
    parts.append(text[start:])
    return parts


def _split_terms(rhs: str) -> list[str]:
    """Split a right-hand side on top-level ``+`` and on ``-`` used as term removal."""
    terms: list[str] = []
    for chunk in _split_top(rhs, "+"):
        pieces = _split_top(chunk, " - ") if " - " in chunk else [chunk]
        terms.append(pieces[0].strip())
        terms.extend("-" + p.strip() for p in pieces[1:])
    return terms


def _expand_group(group: str) -> tuple[str, ...]:
    """Expand ``a/b/c`` into ``("a", "a:b", "a:b:c")``; ``a:b`` stays one factor."""
    parts = [p.strip() for p in group.split("/")]
    if any(not p for p in parts):
        raise SpecError(f"empty grouping factor in {group!r}")
    return tuple(":".join(parts[: i + 1]) for i in range(len(parts)))


def _parse_group(term: str) -> GroupTerm:
    inner = term.strip()[1:-1]
    correlated = True
    cor_id = ""
    parts = _split_top(inner, "||")
    if len(parts) == 2:
        correlated = False
    else:
        parts = _split_top(inner, "|")
        if len(parts) == 3:  # brms's (1 | ID | g): the middle is a correlation ID
            cor_id = parts[1].strip()
            parts = [parts[0], parts[2]]
    if len(parts) != 2:
        raise SpecError(f"group-level term {term!r} must look like '(lhs | group)'")
    lhs, group = parts[0].strip(), parts[1].strip()
    if not lhs or not group:
        raise SpecError(f"group-level term {term!r} has an empty side of '|'")
    gr = group.startswith("gr(") and group.endswith(")")
    if gr:
        group = _split_top(group[3:-1], ",")[0].strip()
    for name in re.split(r"[/:]", group):
        if not _IDENT.fullmatch(name.strip()):
            raise SpecError(f"grouping factor {name.strip()!r} in {term!r} is not a column name")
    return GroupTerm(
        lhs=lhs, group=group, factors=_expand_group(group), correlated=correlated,
        text=term.strip(), cor_id=cor_id, gr=gr,
    )


def _is_group_term(term: str) -> bool:
    t = term.strip()
    return t.startswith("(") and t.endswith(")") and "|" in t and len(_split_top(t[1:-1], "|")) > 1


def parse_formula(text: str | RExpr) -> Formula:
    """Parse a brms formula: one formula, or brms's model language.

    Parameters
    ----------
    text : str or RExpr
        A brms formula such as ``"y | trials(n) ~ x + (1 | user_id/conversation_id)"``, or
        brms code such as ``"bf(y ~ s(x), sigma ~ s(x))"``,
        ``"bf(mvbind(y1, y2) ~ x) + set_rescor(TRUE)"``, or the same built with
        :func:`pybrms.bf`. Python reads the formulas inside (columns, ``mi()``); brms's build
        step judges the rest.

    Returns
    -------
    Formula

    Raises
    ------
    SpecError
        If the formula has no single ``~``, unbalanced parentheses, an empty term, or an
        unknown addition term; the message quotes the offending part.

    """
    expr: RExpr | None = None
    if isinstance(text, RFormula):
        text = text.text
    elif isinstance(text, RExpr):
        expr, text = text, text.code()
    if not isinstance(text, str) or not text.strip():
        raise SpecError("formula must be a non-empty string such as 'y ~ x + (1 | g)'")
    if expr is not None or is_language(text):
        return _parse_language(text, expr)
    return _parse_plain(text)


def _parse_plain(text: str) -> Formula:
    """One formula ``response | additions ~ terms``."""
    sides = _split_top(text, "~")
    if len(sides) != 2:
        raise SpecError(f"formula {text!r} must contain exactly one '~' (got {len(sides) - 1})")
    lhs, rhs = sides[0].strip(), sides[1].strip()
    if not lhs:
        raise SpecError(f"formula {text!r} has no response on the left of '~'")
    if not rhs:
        raise SpecError(f"formula {text!r} has nothing on the right of '~'")
    lhs_parts = _split_top(lhs, "|")
    response = lhs_parts[0].strip()
    if not response:
        raise SpecError(f"formula {text!r} has an empty response")
    addition: dict[str, str] = {}
    for part in lhs_parts[1:]:
        for add in _split_top(part, "+"):
            add = add.strip()
            m = re.fullmatch(r"([A-Za-z_.][A-Za-z0-9_.]*)\s*\((.*)\)", add, flags=re.S)
            if not m:
                raise SpecError(f"addition term {add!r} in {text!r} must look like 'trials(n)'")
            # any name: brms's build step judges addition terms (vint, vreal, index, ...)
            addition[m.group(1)] = m.group(2).strip()
    fixed: list[str] = []
    groups: list[GroupTerm] = []
    for term in _split_terms(rhs):
        if not term:
            raise SpecError(f"empty term (a stray '+') in formula {text!r}")
        if _is_group_term(term):
            groups.append(_parse_group(term))
        else:
            fixed.append(term)
    return Formula(
        text=text, response=response, addition=addition, fixed=tuple(fixed), groups=tuple(groups)
    )


def _parse_language(text: str, expr: RExpr | None) -> Formula:
    """A formula in brms's model language: its formulas parsed where they are plain."""
    lang = read_language(text)
    parts: list[Formula] = []
    for f in lang.formulas:
        try:
            parts.append(_parse_plain(f))
        except SpecError:
            # a formula Python cannot read term by term (brms reads it): its names only
            parts.append(Formula(text=f, response="", fixed=(f,)))
    main = parts[0]
    return Formula(text=text.strip(), response=main.response, addition=dict(main.addition),
                   kind="brms", parts=tuple(parts), language=lang, expr=expr)


def brms_only_calls(text: str) -> tuple[str, ...]:
    """Return the brms-only special terms a formula calls, in order of first use.

    Parameters
    ----------
    text : str
        A brms formula or a part of one, e.g. ``"y ~ mo(x) + s(z) + (1 | g)"``.

    Returns
    -------
    tuple of str
        Names from :data:`BRMS_ONLY_CALLS`, e.g. ``("mo", "s")``; empty for a formula lme4
        could read.
    """
    return tuple(dict.fromkeys(m.group(1) for m in _BRMS_ONLY_CALL.finditer(text)))


# --------------------------------------------------------------------------- term expansion
