"""The paper's analyses as declarative TOML specs: load, validate, expand.

Each ``comparisons/*.toml`` file of the plugin
(:func:`pybrms.papers.kyrychenko2025.resources.comparisons_dir`) describes
one analysis of Kyrychenko et al. (2025): its models (brms formula, family, data frame and
conversation types, priors, sampler settings, seed), the one-sided hypotheses tested on each
model with the paper's directions, the published table the hypotheses are reported in, and the
choices made where the paper is ambiguous. This module loads and validates them into the
dataclasses of :mod:`.schema` (re-exported here); it is pure Python: it never imports rpy2 or
calls R.

It is the paper-specific layer over the generic :mod:`pybrms.spec` package, whose parsers it
reuses: formulas and their terms (:mod:`pybrms.spec.formula`), families
(:func:`~pybrms.spec.families.parse_family`), priors (:class:`~pybrms.spec.priors.Prior`) and
hypotheses (:func:`~pybrms.spec.hypotheses.parse_hypothesis`); conversation types come from
:data:`pybrms.papers.kyrychenko2025.prism.CONVERSATION_TYPES` and frames from
:data:`pybrms.papers.kyrychenko2025.frames.FRAMES`; Table 2's labels and the tables' row keys
from :mod:`pybrms.papers.kyrychenko2025.published`.

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
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from ....errors import SpecError
from ....spec.families import FAMILIES, parse_family
from ....spec.hypotheses import Hypothesis, parse_hypothesis
from ....spec.priors import Prior, validate_distribution
from ....spec.terms import coefficient_term, fixed_terms
from ..frames import FRAMES
from .schema import (
    CONVO_TYPE_LABELS,
    CONVO_TYPE_SLUGS,
    CONVO_TYPES,
    TABLE_ROW_KEYS,
    Ambiguity,
    AnalysisSpec,
    LooComparison,
    ModelSpec,
    TableRef,
    expand_convo_types,
)

__all__ = [
    "CONVO_TYPES", "CONVO_TYPE_LABELS", "CONVO_TYPE_SLUGS", "PRIOR_CLASSES", "PRIOR_DISTRIBUTIONS",
    "REQUIRED_AMBIGUITIES", "ROLES", "TABLE_ROW_KEYS", "Ambiguity", "AnalysisSpec",
    "LooComparison", "ModelSpec", "TableRef", "expand_convo_types", "load_all", "load_analysis",
]

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
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_]+$")


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


def _hypothesis(text: Any, published: bool) -> Hypothesis:
    """Read one hypothesis of a spec: ``coefficient op number-or-coefficient``.

    The text (stripped) is read by :func:`pybrms.spec.hypotheses.parse_hypothesis`; analysis
    specs then allow only a simple hypothesis (:attr:`Hypothesis.is_simple`).

    Raises
    ------
    SpecError
        If the text is not of that form.
    """
    h = parse_hypothesis(text.strip() if isinstance(text, str) else text, published=published)
    if not h.is_simple:
        raise SpecError(
            f"hypothesis {text!r} must look like 'term > 0', 'term < 0' or 'term = other_term'"
        )
    return h


def _priors(path: Path, model: str, raw: Any) -> tuple[Prior, ...]:
    """Read and check the ``priors`` list."""
    if not isinstance(raw, list):
        raise _fail(path, model, "priors", "must be a list of {prior = ..., class = ...} tables")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"prior", "class"} or "prior" not in item:
            raise _fail(path, model, "priors", f"entry {item!r} must have 'prior' and 'class'")
        try:
            dist = validate_distribution(item["prior"], numeric=True)
        except SpecError as exc:
            raise _fail(path, model, "priors", str(exc)) from exc
        if dist not in PRIOR_DISTRIBUTIONS:
            raise _fail(path, model, "priors", f"{item['prior']!r}: distribution {dist!r} is not "
                        f"used by these specs; use one of {', '.join(sorted(PRIOR_DISTRIBUTIONS))}")
        klass = item.get("class", "b")
        if not isinstance(klass, str) or klass not in PRIOR_CLASSES:
            raise _fail(path, model, "priors", f"unknown class {klass!r}; use one of "
                        f"{', '.join(sorted(PRIOR_CLASSES))}")
        out.append(Prior(prior=item["prior"], class_=klass))
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
                h = _hypothesis(text, published)
            except SpecError as exc:
                raise _fail(path, model, key, str(exc)) from exc
            for coef in h.terms:
                if coef == "Intercept":
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
        raise _fail(path, name, "formula", str(exc)) from exc
    family = _str(path, name, merged, "family")
    try:
        known = parse_family(family).name == family and family in FAMILIES
    except SpecError as exc:
        raise _fail(path, name, "family", str(exc)) from exc
    if not known:
        raise _fail(path, name, "family", f"write the brms family name alone, one of "
                    f"{', '.join(FAMILIES)}; got {family!r}")
    frame = merged["frame"]
    if frame not in FRAMES:
        raise _fail(path, name, "frame", f"unknown frame {frame!r}; known: {', '.join(FRAMES)}")
    convo = merged["convo_types"]
    if not isinstance(convo, list) or not convo or any(c not in CONVO_TYPES for c in convo):
        raise _fail(path, name, "convo_types", f"must be a non-empty list of "
                    f"{', '.join(CONVO_TYPES)}; got {convo!r}")
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
        A TOML file such as ``pybrms/comparisons/analysis_1a.toml``.

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
        raise _fail(path, None, None, f"cannot read the spec: {exc}") from exc
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
        Usually :func:`pybrms.resources.comparisons_dir`.

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
