"""The paper's analyses as declarative TOML specs: load, validate, expand.

Each ``comparisons/*.toml`` file describes one analysis of Kyrychenko et al. (2025): its
models (brms formula, family, data frame and conversation types, priors, sampler settings,
seed), the one-sided hypotheses tested on each model with the paper's directions, the
published table the hypotheses are reported in, and the choices made where the paper is
ambiguous. This module is pure Python: it never imports rpy2 or calls R.

A file looks like::

    analysis = "1a"
    title = "..."

    [defaults]                      # merged into every [[models]] entry (the entry wins)
    family = "bernoulli"
    frame = "1a"
    chains = 4
    warmup = 1000
    iter = 2000                     # iter = warmup + draws, as brms counts
    seed = 2025
    priors = [{ prior = "normal(0, 1e6)", class = "b" }]

    [[models]]
    name = "1a"
    formula = "highest ~ REASONING_NUANCE + ... + (1 | user_id/conversation_id) + (1 | model_name)"
    convo_types = ["all", "unguided", "values guided", "controversy guided"]
    hypotheses = ["REASONING_NUANCE > 0", "RESPECT < 0"]
    published = { table = "table2", analysis = "1a",
                  row_keys = ["analysis", "term", "direction", "convo_type"] }

    [ambiguities.reasoning_nuance]
    choice = "product"
    alternatives = ["mean"]
    description = "..."

Every validation error is a :class:`~pybrms.errors.SpecError` whose message starts with
``<file>: model '<name>': field '<field>':`` (model and field where they apply).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .formula import _split_top, parse_formula
from .hypotheses import parse_hypothesis as _parse_hypothesis
from .priors import validate_distribution

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 has no tomllib; tomli is its twin
    import tomli as tomllib

#: Families a spec may name (brms's spelling).
KNOWN_FAMILIES = frozenset(
    {"bernoulli", "gaussian", "student", "lognormal", "Gamma", "binomial", "poisson",
     "negbinomial", "beta"}
)
#: Analysis frames the data pipeline builds (one row per first-turn response).
FRAMES: tuple[str, ...] = ("1a", "1b", "2", "3")
#: PRISM ``conversation_type`` values (plus ``all``, no filter) -> the label printed in Table 2.
CONVO_TYPE_LABELS: dict[str, str] = {
    "all": "all",
    "unguided": "unguided",
    "values guided": "value guided",
    "controversy guided": "controversy guided",
}
#: Conversation type -> suffix of an expanded model's name.
CONVO_TYPE_SLUGS: dict[str, str] = {
    "all": "all",
    "unguided": "unguided",
    "values guided": "values",
    "controversy guided": "controversy",
}
#: Published table -> the columns that identify one of its rows.
TABLE_ROW_KEYS: dict[str, tuple[str, ...]] = {
    "table2": ("analysis", "term", "direction", "convo_type"),
    "table3": ("analysis", "term", "direction"),
    "table4": ("analysis", "term", "direction", "dv"),
}
#: brms parameter classes a prior of these specs may target (a subset of
#: :data:`pybrms.spec.priors.CLASSES`).
PRIOR_CLASSES = frozenset({"b", "Intercept", "sd", "sigma", "cor"})
#: Distributions a prior of these specs may use (a subset of
#: :data:`pybrms.spec.priors.DISTRIBUTIONS`).
PRIOR_DISTRIBUTIONS = frozenset({"normal", "student_t", "cauchy", "exponential", "lkj"})
#: Ambiguities every analysis file must settle; ``highest_ties`` too when a model uses frame 1a.
REQUIRED_AMBIGUITIES: tuple[str, ...] = ("reasoning_nuance", "prior_classes", "seed")
ROLES = frozenset({"primary", "robustness", "loo"})

_MODEL_FIELDS = frozenset(
    {"name", "description", "formula", "family", "frame", "convo_types", "priors", "chains",
     "iter", "warmup", "seed", "hypotheses", "unpublished_hypotheses", "published",
     "compare_with", "role"}
)
_REQUIRED_MODEL_FIELDS: tuple[str, ...] = (
    "name", "formula", "family", "frame", "convo_types", "priors", "chains", "iter", "warmup",
    "seed",
)
_TOP_FIELDS = frozenset({"analysis", "title", "source", "defaults", "models", "ambiguities", "loo"})
_NAME = r"[A-Za-z.][A-Za-z0-9._]*"
_COEF = r"[A-Za-z.][A-Za-z0-9._:]*"
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
#: A grouping expression of these specs: column names joined by ``/`` (nesting) or ``:``.
_GROUP = rf"{_NAME}(?:\s*[/:]\s*{_NAME})*"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_TOKEN = re.compile(rf"\s*(?:(?P<name>{_NAME})|(?P<num>[0-9]+)|(?P<op>[-+*:()]))")


def _where(path: str | Path, model: str | None, fld: str | None) -> str:
    """Return the ``file: model 'x': field 'y':`` prefix of an error message."""
    out = str(path)
    if model is not None:
        out += f": model {model!r}"
    if fld is not None:
        out += f": field {fld!r}"
    return out


def _fail(path: str | Path, model: str | None, fld: str | None, message: str) -> SpecError:
    """Build a :class:`SpecError` naming the file, model and field."""
    return SpecError(f"{_where(path, model, fld)}: {message}")


@dataclass(frozen=True)
class PriorSpec:
    """One prior, as ``brms::set_prior(prior, class = class_)``.

    Attributes
    ----------
    prior : str
        A Stan distribution call, e.g. ``"normal(0, 1e6)"``.
    class_ : str
        The brms parameter class (``b``, ``Intercept``, ``sd``, ``sigma``, ``cor``).
    """

    prior: str
    class_: str = "b"


@dataclass(frozen=True)
class HypothesisSpec:
    """One brms hypothesis ``term op value``, e.g. ``REASONING_NUANCE > 0``.

    Attributes
    ----------
    text : str
        The hypothesis as handed to ``brms::hypothesis()``.
    term : str
        The brms coefficient on the left, e.g. ``youngerTRUE:TOXICITY``.
    direction : str
        ``<``, ``>`` or ``=``.
    value : str
        The right-hand side: a number (``"0"``) or another coefficient.
    published : bool
        True when the paper's table reports this hypothesis.
    """

    text: str
    term: str
    direction: str
    value: str
    published: bool = True

    @property
    def one_sided(self) -> bool:
        """True for ``<`` and ``>`` hypotheses."""
        return self.direction in ("<", ">")


@dataclass(frozen=True)
class TableRef:
    """Where a model's hypotheses are (or would be) reported in the paper.

    Attributes
    ----------
    table : str
        ``table2``, ``table3`` or ``table4`` (the files in ``comparisons/published``).
    analysis : str
        The value of the table's ``analysis`` column for this model's rows.
    row_keys : tuple of str
        The columns that identify a row (see :data:`TABLE_ROW_KEYS`).
    """

    table: str
    analysis: str
    row_keys: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One brms model of an analysis.

    Attributes
    ----------
    name : str
        Unique across all analyses (after :func:`expand_convo_types`).
    analysis : str
        Id of the analysis the model belongs to.
    formula : str
        brms formula, handed to brms unchanged.
    family : str
        brms family name (``bernoulli`` uses the logit link, ``gaussian`` the identity).
    frame : str
        The analysis frame the data pipeline builds (``1a``, ``1b``, ``2`` or ``3``).
    convo_types : tuple of str
        Conversation types to fit on: ``all`` (no filter) or PRISM ``conversation_type``
        values. One model is fitted per type (see :func:`expand_convo_types`).
    priors : tuple of PriorSpec
        Explicit priors; classes not listed keep brms's defaults.
    chains, iter, warmup, seed : int
        Passed to ``brms::brm()``; ``iter`` includes the warm-up.
    hypotheses : tuple of HypothesisSpec
        The one-sided hypotheses tested on the fit.
    published : TableRef or None
        The table reporting the published hypotheses.
    compare_with : TableRef or None
        For robustness models: the published rows the results should resemble.
    role : str
        ``primary``, ``robustness`` or ``loo``.
    description : str
        Free text.
    """

    name: str
    analysis: str
    formula: str
    family: str
    frame: str
    convo_types: tuple[str, ...]
    priors: tuple[PriorSpec, ...]
    chains: int
    iter: int
    warmup: int
    seed: int
    hypotheses: tuple[HypothesisSpec, ...] = ()
    published: TableRef | None = None
    compare_with: TableRef | None = None
    role: str = "primary"
    description: str = ""

    @property
    def draws(self) -> int:
        """Post-warm-up draws per chain (``iter - warmup``)."""
        return self.iter - self.warmup

    @property
    def total_draws(self) -> int:
        """Post-warm-up draws over all chains: the largest finite evidence ratio plus one."""
        return self.chains * self.draws

    @property
    def response(self) -> str:
        """The response column (left of ``~``)."""
        return parse_formula(self.formula).response

    @property
    def fixed_terms(self) -> tuple[tuple[str, ...], ...]:
        """Population-level terms as variable tuples, e.g. ``("younger", "TOXICITY")``."""
        return fixed_terms(self.formula)

    def fit_key(self) -> tuple[Any, ...]:
        """Return everything that determines the fit; equal keys mean the same posterior."""
        return (self.formula, self.family, self.frame, self.convo_types, self.priors,
                self.chains, self.iter, self.warmup, self.seed)

    def published_keys(self, ref: TableRef | None = None) -> list[dict[str, str]]:
        """Return the published-table row key of each published hypothesis.

        Parameters
        ----------
        ref : TableRef, optional
            The table to key against; defaults to :attr:`published`. Pass
            :attr:`compare_with` for a robustness model.

        Returns
        -------
        list of dict
            One dict per published hypothesis, with ``table`` and the table's row keys
            (``convo_type`` as printed in Table 2, ``dv`` the model's response).

        Raises
        ------
        SpecError
            If there is no table to key against, or the model spans several conversation
            types while the table is keyed by conversation type (expand it first).
        """
        ref = ref if ref is not None else self.published
        if ref is None:
            raise SpecError(f"model {self.name!r} has no published table")
        if "convo_type" in ref.row_keys and len(self.convo_types) != 1:
            raise SpecError(
                f"model {self.name!r} spans {len(self.convo_types)} conversation types; "
                "call expand_convo_types() first"
            )
        keys = []
        for h in self.hypotheses:
            if not h.published:
                continue
            key = {"table": ref.table, "analysis": ref.analysis, "term": h.term,
                   "direction": h.direction}
            if "convo_type" in ref.row_keys:
                key["convo_type"] = CONVO_TYPE_LABELS[self.convo_types[0]]
            if "dv" in ref.row_keys:
                key["dv"] = self.response
            keys.append(key)
        return keys


@dataclass(frozen=True)
class Ambiguity:
    """A point the paper leaves open and the choice the spec makes.

    Attributes
    ----------
    key : str
        Short id, e.g. ``reasoning_nuance``.
    choice : str
        The option used.
    alternatives : tuple of str
        The other readings, which a sensitivity run may use instead.
    description : str
        Why the paper is ambiguous and why this choice.
    """

    key: str
    choice: str
    alternatives: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class LooComparison:
    """An ELPD (PSIS-LOO) comparison between two models of the same analysis.

    Attributes
    ----------
    name : str
        Id of the comparison.
    models : tuple of str
        ``(model_with, model_without)``: the paper's expectation is ``elpd(with) > elpd(without)``.
    published_elpd_diff, published_se : float or None
        The difference and its SE reported by the paper, where it reports them.
    description : str
        Free text.
    """

    name: str
    models: tuple[str, str]
    published_elpd_diff: float | None = None
    published_se: float | None = None
    description: str = ""


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis file.

    Attributes
    ----------
    id : str
        ``1a``, ``1b``, ``interaction_toxicity``, ``2``, ``3`` or ``supplement``.
    title, source : str
        Human-readable title and where in the paper it comes from.
    path : Path
        The file it was loaded from.
    models : tuple of ModelSpec
        As written (a model may span several conversation types).
    ambiguities : dict of str to Ambiguity
        The choices made where the paper is ambiguous.
    loo : tuple of LooComparison
        ELPD comparisons (the supplement).
    """

    id: str
    title: str
    source: str
    path: Path
    models: tuple[ModelSpec, ...]
    ambiguities: dict[str, Ambiguity] = field(default_factory=dict)
    loo: tuple[LooComparison, ...] = ()

    def expanded(self) -> list[ModelSpec]:
        """Return the models with one model per conversation type."""
        return [m for model in self.models for m in expand_convo_types(model)]

    def model(self, name: str) -> ModelSpec:
        """Return the (expanded) model called ``name``.

        Raises
        ------
        KeyError
            If there is no such model.
        """
        for m in self.expanded():
            if m.name == name:
                return m
        raise KeyError(f"analysis {self.id!r} has no model {name!r}")


def expand_convo_types(model: ModelSpec) -> list[ModelSpec]:
    """Split a model over its conversation types: one model per type.

    A model with a single type is returned unchanged; otherwise each copy is named
    ``<name>_<slug>`` (``1a_all``, ``1a_unguided``, ``1a_values``, ``1a_controversy``).

    Parameters
    ----------
    model : ModelSpec
        A model, possibly spanning several conversation types.

    Returns
    -------
    list of ModelSpec
    """
    if len(model.convo_types) == 1:
        return [model]
    return [
        replace(model, name=f"{model.name}_{CONVO_TYPE_SLUGS[t]}", convo_types=(t,))
        for t in model.convo_types
    ]


# --------------------------------------------------------------------------- formula terms


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
    """Split a brms formula into response, population-level part and group-level terms.

    The formula is read by :func:`pybrms.spec.formula.parse_formula`; analysis specs then
    allow only a subset of brms: the response is a plain column name (no ``log(y)``, no
    addition terms such as ``| trials(n)``) and a group-level term is ``(lhs | group)`` with
    ``group`` column names joined by ``/`` or ``:`` (no ``||``, correlation IDs, ``gr()`` or
    backticks).

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
        If there is not exactly one ``~``, the response is not a column name, or a
        group-level term is malformed.
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
        # parse_formula reads brms's (x || g), (1 | ID | g) and gr(g, ...); specs allow none
        if "".join(part.split()) != "".join(f"({g.lhs}|{g.group})".split()):
            raise SpecError(f"group-level term {part!r} must look like '(1 | group)'")
        if not re.fullmatch(_GROUP, g.group):
            raise SpecError(f"grouping factor of {part!r} is not a column name")
        groups.append(part)
    return parsed.response, " + ".join(fixed) or "1", groups


def fixed_terms(formula: str) -> tuple[tuple[str, ...], ...]:
    """Expand the population-level part of a brms formula into its terms.

    Variables inside an interaction are ordered by their first appearance in the formula,
    as R's ``terms()`` orders them; brms names the coefficient of the term
    ``("younger", "TOXICITY")`` of a logical ``younger`` ``youngerTRUE:TOXICITY``.

    Parameters
    ----------
    formula : str
        A brms formula.

    Returns
    -------
    tuple of tuple of str
        E.g. ``(("younger",), ("TOXICITY",), ("younger", "TOXICITY"))``.

    Raises
    ------
    SpecError
        If the formula cannot be read.
    """
    _, fixed, _ = split_formula(formula)
    order = {}
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


# --------------------------------------------------------------------------- loading


def _int(path: Path, model: str, raw: dict[str, Any], key: str, minimum: int) -> int:
    """Read an integer field that must be >= ``minimum``."""
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive integer" if minimum > 0 else "a non-negative integer"
        raise _fail(path, model, key, f"must be {kind}, got {value!r}")
    return value


def _str(path: Path, model: str | None, raw: dict[str, Any], key: str) -> str:
    """Read a non-empty string field."""
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, model, key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def parse_hypothesis(text: str, published: bool = True) -> HypothesisSpec:
    """Parse ``"term op number-or-term"`` (op ``<``, ``>`` or ``=``).

    The text is read by :func:`pybrms.spec.hypotheses.parse_hypothesis`; analysis specs then
    allow only a single coefficient on the left and a number or a coefficient on the right.

    Raises
    ------
    SpecError
        If the text is not of that form.
    """
    h = _parse_hypothesis(text)
    if not (re.fullmatch(_COEF, h.left) and re.fullmatch(rf"{_NUMBER}|{_COEF}", h.right)):
        raise SpecError(
            f"hypothesis {text!r} must look like 'term > 0', 'term < 0' or 'term = other_term'"
        )
    return HypothesisSpec(text=text.strip(), term=h.left, direction=h.op, value=h.right,
                          published=published)


def _priors(path: Path, model: str, raw: Any) -> tuple[PriorSpec, ...]:
    """Read and check the ``priors`` list."""
    if not isinstance(raw, list):
        raise _fail(path, model, "priors", "must be a list of {prior = ..., class = ...} tables")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"prior", "class"} or "prior" not in item:
            raise _fail(path, model, "priors", f"entry {item!r} must have 'prior' and 'class'")
        try:
            dist = validate_distribution(item["prior"])
        except SpecError as exc:
            raise _fail(path, model, "priors", str(exc)) from None
        if dist not in PRIOR_DISTRIBUTIONS:
            raise _fail(path, model, "priors", f"{item['prior']!r}: distribution {dist!r} is not "
                        f"used by these specs; use one of {', '.join(sorted(PRIOR_DISTRIBUTIONS))}")
        klass = item.get("class", "b")
        if not isinstance(klass, str) or klass not in PRIOR_CLASSES:
            raise _fail(path, model, "priors", f"unknown class {klass!r}; use one of "
                        f"{', '.join(sorted(PRIOR_CLASSES))}")
        out.append(PriorSpec(prior=item["prior"], class_=klass))
    return tuple(out)


def _table_ref(path: Path, model: str, key: str, raw: Any) -> TableRef | None:
    """Read a ``published`` / ``compare_with`` table reference."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"table", "analysis", "row_keys"}:
        raise _fail(path, model, key, "must be {table = ..., analysis = ..., row_keys = [...]}")
    table = raw["table"]
    if table not in TABLE_ROW_KEYS:
        raise _fail(path, model, key, f"unknown table {table!r}; use {', '.join(TABLE_ROW_KEYS)}")
    row_keys = tuple(raw["row_keys"])
    if row_keys != TABLE_ROW_KEYS[table]:
        raise _fail(path, model, key, f"row_keys of {table} are {list(TABLE_ROW_KEYS[table])}")
    return TableRef(table=table, analysis=str(raw["analysis"]), row_keys=row_keys)


def _hypotheses(path: Path, model: str, raw: dict[str, Any], terms: tuple) -> tuple:
    """Read ``hypotheses`` and ``unpublished_hypotheses``; check their terms."""
    out = []
    for key, published in (("hypotheses", True), ("unpublished_hypotheses", False)):
        items = raw.get(key, [])
        if not isinstance(items, list):
            raise _fail(path, model, key, "must be a list of strings such as 'x > 0'")
        for text in items:
            try:
                h = parse_hypothesis(text, published=published)
            except SpecError as exc:
                raise _fail(path, model, key, str(exc)) from None
            for coef in (h.term, h.value):
                if re.fullmatch(_NUMBER, coef) or coef == "Intercept":
                    continue
                if coefficient_term(coef, terms) is None:
                    raise _fail(path, model, key, f"hypothesis {h.text!r}: term {coef!r} is not "
                                "a population-level coefficient of the formula")
            out.append(h)
    texts = [h.text for h in out]
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    if dupes:
        raise _fail(path, model, "hypotheses", f"repeated hypotheses {dupes}")
    return tuple(out)


def _model(path: Path, analysis: str, raw: Any, defaults: dict[str, Any]) -> ModelSpec:
    """Build and validate one model entry (defaults merged in)."""
    if not isinstance(raw, dict):
        raise _fail(path, None, "models", "each [[models]] entry must be a table")
    merged = {**defaults, **raw}
    name = merged.get("name")
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise _fail(path, None, "name", f"every model needs a name of letters, digits, _; got "
                    f"{name!r}")
    unknown = sorted(set(merged) - _MODEL_FIELDS)
    if unknown:
        raise _fail(path, name, unknown[0], f"unknown field; known: {', '.join(sorted(_MODEL_FIELDS))}")
    for key in _REQUIRED_MODEL_FIELDS:
        if key not in merged:
            raise _fail(path, name, key, "required field is missing")
    formula = _str(path, name, merged, "formula")
    try:
        terms = fixed_terms(formula)
    except SpecError as exc:
        raise _fail(path, name, "formula", str(exc)) from None
    family = _str(path, name, merged, "family")
    if family not in KNOWN_FAMILIES:
        raise _fail(path, name, "family", f"unknown family {family!r}; known: "
                    f"{', '.join(sorted(KNOWN_FAMILIES))}")
    frame = merged["frame"]
    if frame not in FRAMES:
        raise _fail(path, name, "frame", f"unknown frame {frame!r}; known: {', '.join(FRAMES)}")
    convo = merged["convo_types"]
    if not isinstance(convo, list) or not convo or any(c not in CONVO_TYPE_LABELS for c in convo):
        raise _fail(path, name, "convo_types", f"must be a non-empty list of "
                    f"{', '.join(CONVO_TYPE_LABELS)}; got {convo!r}")
    if len(set(convo)) != len(convo):
        raise _fail(path, name, "convo_types", f"repeated conversation types in {convo!r}")
    chains = _int(path, name, merged, "chains", 1)
    iters = _int(path, name, merged, "iter", 1)
    warmup = _int(path, name, merged, "warmup", 1)
    if warmup >= iters:
        raise _fail(path, name, "warmup", f"warmup ({warmup}) must be < iter ({iters}); "
                    "iter counts warm-up plus draws")
    seed = _int(path, name, merged, "seed", 0)
    role = merged.get("role", "primary")
    if role not in ROLES:
        raise _fail(path, name, "role", f"unknown role {role!r}; known: {', '.join(sorted(ROLES))}")
    published = _table_ref(path, name, "published", merged.get("published"))
    hypotheses = _hypotheses(path, name, merged, terms)
    if published is not None and not any(h.published for h in hypotheses):
        raise _fail(path, name, "hypotheses", "a model with a published table needs hypotheses")
    return ModelSpec(
        name=name, analysis=analysis, formula=formula, family=family, frame=frame,
        convo_types=tuple(convo), priors=_priors(path, name, merged["priors"]), chains=chains,
        iter=iters, warmup=warmup, seed=seed, hypotheses=hypotheses, published=published,
        compare_with=_table_ref(path, name, "compare_with", merged.get("compare_with")),
        role=role, description=str(merged.get("description", "")).strip(),
    )


def _ambiguities(path: Path, raw: Any, models: tuple[ModelSpec, ...]) -> dict[str, Ambiguity]:
    """Read ``[ambiguities]`` and check the required ones and the prior classes."""
    if not isinstance(raw, dict):
        raise _fail(path, None, "ambiguities", "an [ambiguities] table is required")
    out = {}
    for key, item in raw.items():
        where = f"ambiguities.{key}"
        if not isinstance(item, dict) or not {"choice", "alternatives", "description"} <= set(item):
            raise _fail(path, None, where, "needs choice, alternatives and description")
        alts = item["alternatives"]
        if not isinstance(alts, list) or not alts or item["choice"] in alts:
            raise _fail(path, None, where, "alternatives must be a non-empty list without the choice")
        out[key] = Ambiguity(key=key, choice=str(item["choice"]), alternatives=tuple(map(str, alts)),
                             description=" ".join(str(item["description"]).split()))
    required = list(REQUIRED_AMBIGUITIES)
    if any(m.frame == "1a" for m in models):
        required.append("highest_ties")
    for key in required:
        if key not in out:
            raise _fail(path, None, f"ambiguities.{key}", "required ambiguity is not settled")
    classes = set(out["prior_classes"].choice.split("+"))
    for m in models:
        want = classes - ({"sigma"} if m.family != "gaussian" else set())
        have = {p.class_ for p in m.priors}
        if have != want:
            raise _fail(path, m.name, "priors", f"prior classes {sorted(have)} differ from "
                        f"ambiguities.prior_classes choice {sorted(want)}")
    return out


def _loo(path: Path, raw: Any, names: set[str]) -> tuple[LooComparison, ...]:
    """Read ``[[loo]]`` comparisons; both models must be in this file."""
    out = []
    for item in raw or []:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise _fail(path, None, "loo", "each [[loo]] entry needs a name")
        models = item.get("models")
        if not isinstance(models, list) or len(models) != 2:
            raise _fail(path, name, "models", "must list two model names: [with, without]")
        for m in models:
            if m not in names:
                raise _fail(path, name, "models", f"no model {m!r} in this file")
        out.append(LooComparison(name=name, models=(models[0], models[1]),
                                 published_elpd_diff=item.get("published_elpd_diff"),
                                 published_se=item.get("published_se"),
                                 description=" ".join(str(item.get("description", "")).split())))
    return tuple(out)


def load_analysis(path: str | Path) -> AnalysisSpec:
    """Load and validate one analysis file.

    Parameters
    ----------
    path : str or Path
        A TOML file such as ``comparisons/analysis_1a.toml``.

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    SpecError
        On unreadable TOML, a missing or malformed field, an unknown family, non-positive
        chains/iter/warmup or ``warmup >= iter``, a malformed hypothesis or one whose term is
        not in the model's formula, a repeated model name, or an unsettled ambiguity. The
        message names the file, the model and the field.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _fail(path, None, None, f"cannot read the spec: {exc}") from None
    unknown = sorted(set(raw) - _TOP_FIELDS)
    if unknown:
        raise _fail(path, None, unknown[0], f"unknown field; known: {', '.join(sorted(_TOP_FIELDS))}")
    analysis = _str(path, None, raw, "analysis")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise _fail(path, None, "defaults", "must be a table")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, None, "models", "at least one [[models]] entry is required")
    models = tuple(_model(path, analysis, entry, defaults) for entry in entries)
    names = [m.name for m in models]
    names += [e.name for m in models if len(m.convo_types) > 1 for e in expand_convo_types(m)]
    for name in names:
        if names.count(name) > 1:
            raise _fail(path, name, "name", "model name is not unique in this file "
                        "(expanded names <name>_<convo type> count too)")
    spec = AnalysisSpec(
        id=analysis, title=_str(path, None, raw, "title"), source=str(raw.get("source", "")),
        path=path, models=models, ambiguities=_ambiguities(path, raw.get("ambiguities"), models),
    )
    return replace(spec, loo=_loo(path, raw.get("loo"), {m.name for m in spec.expanded()}))


def load_all(directory: str | Path) -> dict[str, AnalysisSpec]:
    """Load every ``*.toml`` analysis file of a directory.

    Parameters
    ----------
    directory : str or Path
        Usually ``comparisons/``.

    Returns
    -------
    dict of str to AnalysisSpec
        Keyed by analysis id, in file-name order.

    Raises
    ------
    SpecError
        If a file is invalid, there is no file, two files share an analysis id, or two
        analyses share an (expanded) model name.
    """
    directory = Path(directory)
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise SpecError(f"{directory}: no *.toml analysis files")
    out: dict[str, AnalysisSpec] = {}
    owner: dict[str, Path] = {}
    for path in paths:
        spec = load_analysis(path)
        if spec.id in out:
            raise _fail(path, None, "analysis", f"id {spec.id!r} is also used by {out[spec.id].path}")
        for m in spec.expanded():
            if m.name in owner:
                raise _fail(path, m.name, "name", f"model name also used in {owner[m.name]}")
            owner[m.name] = path
        out[spec.id] = spec
    return out
