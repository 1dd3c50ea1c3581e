"""Check many models before the first fit, and report every problem at once.

What a multi-fit command (a sensitivity grid, a replication, a simulation study) runs before it
fits anything, so that a typo costs seconds and not a compile or a night of fits:

- every model is checked by its engine without fitting (:func:`pybrms.engines.preflight`):
  brms runs its build step and Stan's parser on the program it writes (no C++ compile), lme4
  and statsmodels check what they can express; each engine's options are validated;
- each distinct model *structure* is checked once, however many cells, units or conditions
  share it (:func:`structure_key`: engine, formula, family, priors, the options that shape
  the model, the data's columns and factor levels; not sampler settings, not the numbers of
  the data, not the values of prior constants passed as data);
- focus terms are checked against the population-level coefficients each engine will report
  (:func:`check_focus`);
- every problem is collected (:class:`Collector`), problems that differ only in where they
  occur are merged (:func:`merge`), and :func:`raise_problems` raises them together.

Nothing here knows which command asks: callers turn their cells/units into
:class:`ModelCheck` objects and read :class:`Checked` back.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .engines import get_engine, preflight
from .errors import PybrmsError, SpecError
from .spec.model import FitSpec
from .spec.priors import Prior

#: run settings: they change how a fit samples or reports, never whether a model is valid or
#: what its coefficients are called, so they are not part of a model's structure
RUN_SETTINGS: frozenset[str] = frozenset({
    "seed", "chains", "iter", "warmup", "thin", "cores", "refresh", "quiet", "diagnose",
    "echo", "control", "init", "cache",
})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a run's input.

    Attributes
    ----------
    message : str
        What is wrong, without where (``filter 'farm != 1': column 'farm' is not in the
        data``).
    where : tuple of str
        Where it occurs (``("cell wide__no_1", "cell tight__no_1")``); empty for the run as a
        whole.
    engine : str
        The engine concerned, or ``""``.
    error : Exception, optional
        The exception it came from (its type is kept when it is the only problem).
    """

    message: str
    where: tuple[str, ...] = ()
    engine: str = ""
    error: BaseException | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if not self.where:
            place = ""
        elif len(self.where) == 1:
            place = self.where[0]
        else:
            # "cell a (also b, c)": the kind of place is said once
            kind = self.where[0].split(" ")[0] + " "
            rest = [w[len(kind):] if w.startswith(kind) and " " in self.where[0] else w
                    for w in self.where[1:]]
            more = f" and {len(rest) - 3} more" if len(rest) > 3 else ""
            place = f"{self.where[0]} (also {', '.join(rest[:3])}{more})"
        if self.engine:
            place = f"{place} ({self.engine})" if place else f"engine {self.engine}"
        return f"{place}: {self.message}" if place else self.message


class InputProblems(SpecError):
    """Several problems found before any fit; :attr:`problems` lists them (merged)."""

    def __init__(self, problems: Sequence[Problem], what: str = "the input") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in {what}, found before any "
                         f"fit:\n{lines}")


def merge(problems: Iterable[Problem]) -> list[Problem]:
    """One problem per (engine, message), listing every place it occurs, in first-seen order."""
    out: dict[tuple[str, str], Problem] = {}
    for p in problems:
        key = (p.engine, p.message)
        if key in out:
            old = out[key]
            where = old.where + tuple(w for w in p.where if w not in old.where)
            out[key] = Problem(old.message, where, old.engine, old.error)
        else:
            out[key] = p
    return list(out.values())


def raise_problems(problems: Iterable[Problem], what: str = "the input") -> None:
    """Raise the problems (merged), or nothing when there are none.

    A single problem is raised as its own exception type (``DataError``, ``EngineError``...)
    with where it occurs; several as one :class:`InputProblems` listing them all.
    """
    merged = merge(problems)
    if not merged:
        return
    if len(merged) == 1:
        p = merged[0]
        kind = type(p.error) if isinstance(p.error, PybrmsError) else SpecError
        try:
            exc = kind(str(p))
        except TypeError:  # an error class with another signature
            exc = SpecError(str(p))
        raise exc from p.error
    raise InputProblems(merged, what)


def _strip(message: str, where: str) -> str:
    """A message without the ``<where>: `` its raiser may have put first, nor the
    ``in brm(...)`` call brms's build step appends (the place says which model it is).
    """
    if where and message.startswith(f"{where}: "):
        message = message[len(where) + 2:]
    return message.split("\n  in brm(")[0]


class Collector:
    """Collect problems instead of stopping at the first.

    Examples
    --------
    >>> found = Collector()
    >>> with found.at("cell a", engine="lme4"):
    ...     spec = FitSpec.build(...)      # a SpecError/DataError/EngineError is kept
    >>> found.ok                           # False when something was kept
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        """True while nothing was collected."""
        return not self.problems

    def add(self, message: str, where: str | Sequence[str] = (), engine: str = "",
            error: BaseException | None = None) -> None:
        """Record a problem."""
        places = (where,) if isinstance(where, str) else tuple(where)
        self.problems.append(Problem(message, tuple(w for w in places if w), engine, error))

    @contextlib.contextmanager
    def at(self, where: str, engine: str = "") -> Iterator[None]:
        """Run the block; a pybrms error raised in it becomes a problem at ``where``."""
        try:
            yield
        except PybrmsError as exc:
            message = _strip(str(exc), where)
            if engine:
                message = _strip(message, f"{where} ({engine})")
            self.add(message, where, engine, exc)


@dataclass
class ModelCheck:
    """One model as one engine will fit it.

    Attributes
    ----------
    where : str
        Where it comes from, for messages (``"cell wide__all"``, ``"unit 1a_all__brms"``).
    engine : str
        The engine that will fit it.
    spec : FitSpec
        The validated model (priors only for engines that take them).
    options : mapping
        The engine's options as the fit will get them (names it does not know are problems).
    """

    where: str
    engine: str
    spec: FitSpec
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Checked:
    """What :func:`check_models` found.

    Attributes
    ----------
    problems : list of Problem
        Every problem (not merged).
    terms : list
        Per model (in the order given): its population-level coefficient names, or None when
        its engine cannot tell before fitting (or its check failed).
    structures : dict of str to int
        Engine -> distinct model structures it checked.
    seconds : float
        Wall time.
    """

    problems: list[Problem] = field(default_factory=list)
    terms: list[list[str] | None] = field(default_factory=list)
    structures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def data_signature(data: pd.DataFrame | None) -> list[Any]:
    """What of the data decides a model's structure: columns, dtypes and the levels of every
    column that is not numeric (their numbers do not).
    """
    if data is None:
        return []
    out: list[Any] = []
    for name in data.columns:
        col = data[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out.append([str(name), str(col.dtype)])
        elif isinstance(col.dtype, pd.CategoricalDtype):
            seen = set(col.dropna().astype(str))
            out.append([str(name), "category", [str(c) for c in col.cat.categories
                                                if str(c) in seen]])
        else:
            out.append([str(name), str(col.dtype), sorted({str(v) for v in col.dropna()})])
    return out


def structure_key(model: ModelCheck) -> str:
    """SHA-256 of what decides whether ``model`` is valid and what its coefficients are called.

    Engine, formula, family, priors, the options that shape the model (not
    :data:`RUN_SETTINGS`; ``stanvars`` by their names only: their values are data), and the
    data's :func:`data_signature`.
    """
    opts = {k: v for k, v in model.options.items() if k not in RUN_SETTINGS}
    if isinstance(opts.get("stanvars"), Mapping):
        opts["stanvars"] = sorted(opts["stanvars"])
    spec = model.spec
    priors = [p.to_dict() if isinstance(p, Prior) else repr(p) for p in spec.priors]
    parts = {"engine": model.engine, "formula": spec.formula.text,
             "family": spec.family.r_call(), "priors": priors, "options": opts,
             "data": data_signature(spec.data)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def check_models(models: Sequence[ModelCheck]) -> Checked:
    """Check every model as its engine will fit it, each distinct structure once.

    Per model: the engine's options are built (an unknown name or a bad value is a problem);
    per distinct structure (:func:`structure_key`): the engine's preflight
    (:func:`pybrms.engines.preflight`: for brms its build step and Stan's parser, no compile),
    whose problem, if any, is reported for every model of that structure.

    Parameters
    ----------
    models : sequence of ModelCheck
        The models, e.g. one per (cell, engine) of a grid.

    Returns
    -------
    Checked
        Problems (collect them with your own and :func:`raise_problems`), each model's
        coefficient names, and the count of structures checked per engine.
    """
    t0 = time.perf_counter()
    out = Checked()
    done: dict[str, tuple[list[str] | None, Problem | None]] = {}
    for m in models:
        try:
            engine = get_engine(m.engine)
            opts = engine.options.build(dict(m.options))
        except PybrmsError as exc:
            out.problems.append(Problem(_strip(str(exc), m.where), (m.where,), m.engine, exc))
            out.terms.append(None)
            continue
        key = structure_key(m)
        if key not in done:
            out.structures[m.engine] = out.structures.get(m.engine, 0) + 1
            try:
                names = preflight(engine, m.spec, opts)
                done[key] = (list(names) if names is not None else None, None)
            except PybrmsError as exc:
                done[key] = (None, Problem(_strip(str(exc), m.where), (), m.engine, exc))
        names, problem = done[key]
        if problem is not None:
            out.problems.append(Problem(problem.message, (m.where,), m.engine, problem.error))
        out.terms.append(names)
    out.seconds = time.perf_counter() - t0
    return out


def check_focus(focus: Sequence[str], models: Sequence[ModelCheck],
                terms: Sequence[list[str] | None], where: str = "focus"
                ) -> tuple[list[Problem], list[str]]:
    """Check focus terms against the coefficients each engine will report.

    A focus term must be a population-level coefficient of at least one model of **every**
    engine that fits the models (an engine whose coefficients are known for none of its
    models, e.g. a formula with function calls for lme4, is not judged). A term some models
    of an engine lack (an axis that drops a predictor) is a note, not a problem.

    Parameters
    ----------
    focus : sequence of str
        Focus terms, as the tidy rows name them (``periodP2``, ``x:fb``, ``sigma_x``).
    models : sequence of ModelCheck
        The models.
    terms : sequence
        Each model's coefficient names (:attr:`Checked.terms`), or None.
    where : str
        Where the focus terms are written, for messages (``"[base] focus"``).

    Returns
    -------
    (list of Problem, list of str)
        Problems, and notes.
    """
    problems: list[Problem] = []
    notes: list[str] = []
    engines = list(dict.fromkeys(m.engine for m in models))
    known: dict[str, list[tuple[str, list[str]]]] = {}
    for engine in engines:
        rows = [(m.where, t) for m, t in zip(models, terms, strict=True)
                if m.engine == engine and t is not None]
        if rows:  # an engine that cannot name any model's coefficients is not judged
            known[engine] = rows
    for term in focus:
        absent = []
        for engine, rows in known.items():
            lacking = [w for w, t in rows if term not in t]
            if len(lacking) == len(rows):
                absent.append(engine)
            elif lacking:
                notes.append(f"focus term {term!r} is not a coefficient of {engine}'s model "
                             f"in {len(lacking)} of {len(rows)} place(s): "
                             f"{', '.join(lacking[:5])}{' ...' if len(lacking) > 5 else ''}")
        if not absent:
            continue
        every = list(dict.fromkeys(n for e in absent for _, t in known[e] for n in t))
        close = difflib.get_close_matches(term, every, n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(Problem(
            f"focus term {term!r} is not a population-level coefficient of any "
            f"{' or '.join(absent)} model{hint}; the coefficients are: {', '.join(every)}",
            (where,), error=SpecError(term)))
    return problems, notes


__all__ = ["RUN_SETTINGS", "Checked", "Collector", "InputProblems", "ModelCheck", "Problem",
           "check_focus", "check_models", "data_signature", "merge", "raise_problems",
           "structure_key"]
