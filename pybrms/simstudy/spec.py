"""A simulation study, in the ADEMP order of Morris, White & Crowther (2019): parsed and checked.

A study file (TOML)::

    [study]
    name = "glmm-coverage"
    seed = 2024                 # the study's seed: one independent stream per replicate
    reps = 200
    focus = ["x"]               # the estimands (tidy term names: x, sd_g__Intercept, sigma)
    formula = "y ~ x + (1 | g)" # the analysis model every method fits
    family = "bernoulli"
    level = 0.95

    [generate]                  # data-generating mechanism: a Python callable ...
    function = "mymodule:generate"   # generate(rng, **condition) -> (DataFrame, {term: truth})

    [model]                     # ... or a declarative model (see declarative.py)
    formula = "y ~ x + (1 | g)"
    family = "bernoulli"
    truth = { b_Intercept = -1, b_x = "effect", sd_g__Intercept = 1 }
    [model.design]
    groups = { g = "n_groups" }
    size = 20
    covariates = { x = "normal(0, 1)" }

    [conditions]                # crossed axes; their values reach the generator by name
    n_groups = [5, 10, 30]
    effect = [0.5]

    [[exclude]]
    n_groups = 5

    [methods.lme4]
    engine = "lme4"
    [methods.brms]
    engine = "brms"
    prior = [{ prior = "normal(0, 2.5)", class = "b" }]
    chains = 2
    iter = 1000

    [sbc]                       # simulation-based calibration instead of fixed truths
    prior = [...]               # the generating prior (every class of the model)
    thin = 10

The Python API (:func:`pybrms.simstudy`) takes the same pieces as keyword arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..design import check_exclusions, crossed
from ..errors import SpecError
from ..runs.limits import Limits, resolve_limits
from ..spec.priors import Prior
from ..spec.tomlfile import check_fields, read_toml

#: fields of ``[study]``
STUDY_FIELDS = ("name", "seed", "reps", "focus", "formula", "family", "level", "alpha",
                "notes", "task_timeout", "retries", "memory_limit")
#: ``[study]`` fields that limit the run's fits (:class:`pybrms.runs.limits.Limits`)
RUN_FIELDS = ("task_timeout", "retries", "memory_limit")
#: top-level tables of a study file
TABLES = ("study", "generate", "model", "conditions", "exclude", "methods", "sbc")
#: option names a method entry may carry besides ``engine`` and ``prior`` (engine options)
METHOD_FIELDS = ("engine", "prior", "formula", "family", "chains", "iter", "warmup", "thin",
                 "cores", "control", "stanvars", "options", "seed")
#: ``--quick``: short chains
QUICK = {"chains": 2, "iter": 500, "warmup": 250}


@dataclass
class Method:
    """One estimation method: an engine, its priors and options, optionally its own model.

    Attributes
    ----------
    name : str
        The method's name in the outputs (``brms``, ``lme4``, ``brms_wide_prior``).
    engine : str
        Registry name of the engine.
    priors : list of dict
        Prior tables (``{"prior": "normal(0, 1)", "class": "b"}``); Prior objects are turned
        into tables.
    options : dict
        Engine options (``chains``, ``iter``, ``warmup``, ``control``, ``stanvars``...).
    formula, family : str, optional
        The method's own analysis model (default: the study's).
    """

    name: str
    engine: str
    priors: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    formula: str | None = None
    family: str | None = None


@dataclass
class Study:
    """A parsed study.

    Attributes
    ----------
    name : str
        Names the outputs.
    seed : int
        The study's seed.
    reps : int
        Replicates per condition.
    conditions : dict of str to list
        Crossed condition axes (empty: one condition).
    exclude : list of dict
        Combinations of condition values left out.
    methods : dict of str to Method
        The estimation methods, in order.
    focus : list of str
        The estimands (tidy term names).
    formula, family : str
        The analysis model (methods may override).
    generate : str or callable, optional
        ``"module:function"`` or a callable ``generate(rng, **condition)``.
    model : dict, optional
        A declarative model (:mod:`pybrms.simstudy.declarative`).
    sbc : dict, optional
        Simulation-based calibration settings (``prior``, ``thin``).
    level, alpha : float
        Interval level and test size of the performance measures.
    root : Path
        Folder relative paths are read from.
    source : str
        Where the study came from.
    notes : list of str
        Free text carried into the summary.
    """

    name: str
    seed: int
    reps: int
    methods: dict[str, Method]
    focus: list[str]
    formula: str
    family: str = "gaussian"
    conditions: dict[str, list[Any]] = field(default_factory=dict)
    exclude: list[dict[str, Any]] = field(default_factory=list)
    generate: str | Callable[..., Any] | None = None
    model: dict[str, Any] | None = None
    sbc: dict[str, Any] | None = None
    level: float = 0.95
    alpha: float = 0.05
    root: Path = field(default_factory=Path.cwd)
    source: str = ""
    notes: list[str] = field(default_factory=list)
    #: the study file's ``task_timeout``, ``retries``, ``memory_limit`` (:func:`study_limits`)
    run_limits: dict[str, Any] = field(default_factory=dict)

    def condition_list(self) -> list[dict[str, Any]]:
        """Every condition (axis -> value), crossed, minus the excluded combinations."""
        out = crossed(self.conditions, self.exclude)
        if not out:
            raise SpecError(f"study {self.name!r} has no condition left after its "
                            f"{len(self.exclude)} exclusion(s)")
        return out

    @property
    def generator_label(self) -> str:
        """How the data are generated, in words (for keys and the summary)."""
        if self.model is not None:
            return "declarative model"
        g = self.generate
        return g if isinstance(g, str) else f"{getattr(g, '__module__', '?')}:" \
                                            f"{getattr(g, '__qualname__', repr(g))}"


def condition_id(condition: Mapping[str, Any]) -> str:
    """A file-name-safe id of a condition: ``n_groups-5_effect-0.5`` (``base`` for none)."""
    if not condition:
        return "base"
    parts = []
    for k, v in condition.items():
        text = f"{k}-{v}"
        parts.append("".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in text))
    return "_".join(parts)


def _prior_tables(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for p in items:
        if isinstance(p, Prior):
            d = {k: v for k, v in p.to_dict().items() if v not in ("", None)}
            d["class"] = d.pop("class_")
            out.append(d)
        elif isinstance(p, Mapping) and "prior" in p:
            out.append(dict(p))
        else:
            raise SpecError(f"{where}: a prior is pybrms.prior(...) or a table like "
                            f"{{ prior = \"normal(0, 1)\", class = \"b\" }}, got {p!r}")
    return out


def parse_method(name: str, entry: Mapping[str, Any]) -> Method:
    """A method entry (``{"engine": "brms", "prior": [...], "chains": 2}``) as a Method."""
    where = f"[methods.{name}]"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}: a method is a table with at least engine = \"...\"")
    if "engine" not in entry:
        raise SpecError(f"{where}: no engine (brms, lme4, statsmodels, fast...)")
    check_fields(entry, METHOD_FIELDS, where)
    options = {k: v for k, v in entry.items()
               if k not in ("engine", "prior", "formula", "family", "options")}
    options.update(dict(entry.get("options") or {}))
    for key in ("chains", "iter", "warmup", "thin", "cores", "seed"):
        v = options.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise SpecError(f"{where}: {key} must be an integer, got {v!r}")
    return Method(name=name, engine=str(entry["engine"]),
                  priors=_prior_tables(entry.get("prior"), where), options=options,
                  formula=entry.get("formula"), family=entry.get("family"))


def build_study(*, methods: Mapping[str, Any], focus: Sequence[str] | str | None = None,
                reps: int = 100, seed: int = 1, formula: str | None = None,
                family: str | None = None, generate: str | Callable[..., Any] | None = None,
                model: Mapping[str, Any] | None = None,
                conditions: Mapping[str, Sequence[Any]] | None = None,
                exclude: Sequence[Mapping[str, Any]] = (), sbc: Mapping[str, Any] | None = None,
                level: float = 0.95, alpha: float = 0.05, name: str = "study",
                root: str | os.PathLike = ".", source: str = "",
                notes: Sequence[str] = ()) -> Study:
    """Check the pieces of a study and assemble it (the Python API's and the file's path).

    Raises
    ------
    SpecError
        For zero or negative replicates, no methods, no generator (or two), condition axes
        without values, exclusions naming unknown axes or values, a bad seed or level.
    """
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 1:
        raise SpecError(f"reps must be a positive integer (replicates per condition), got "
                        f"{reps!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError(f"seed must be a non-negative integer, got {seed!r}")
    if (generate is None) == (model is None) and sbc is None:
        raise SpecError("a study needs one data-generating mechanism: generate = "
                        "\"module:function\" (or a callable), or a declarative [model]")
    if generate is not None and model is not None:
        raise SpecError("give generate or a declarative model, not both")
    if sbc is not None and model is None:
        raise SpecError("simulation-based calibration ([sbc]) draws its truths from the prior "
                        "and its data from a declarative [model]: give [model]")
    if isinstance(generate, str) and ":" not in generate:
        raise SpecError(f"generate must read \"module:function\", got {generate!r}")
    if not methods:
        raise SpecError("a study needs at least one method ([methods.NAME] with an engine)")
    if not 0 < level < 1 or not 0 < alpha < 1:
        raise SpecError(f"level and alpha must lie in (0, 1), got {level}, {alpha}")
    model = dict(model) if model is not None else None
    formula = formula or (model or {}).get("formula")
    family = family or (model or {}).get("family") or "gaussian"
    if not formula:
        raise SpecError("the study needs the analysis model's formula (study.formula)")
    focus = [focus] if isinstance(focus, str) else list(focus or [])
    if not focus and sbc is None:
        raise SpecError("name the estimands: focus = [\"x\", ...] (tidy term names)")
    axes: dict[str, list[Any]] = {}
    for axis, values in dict(conditions or {}).items():
        vals = list(values) if isinstance(values, (list, tuple)) else [values]
        if not vals:
            raise SpecError(f"condition {axis!r} has no values")
        if len(set(map(repr, vals))) != len(vals):
            raise SpecError(f"condition {axis!r} repeats a value: {vals}")
        axes[str(axis)] = vals
    reserved = {"rep", "method", "term", "estimate", "truth", "n", "subset", "measure",
                "value", "mcse", "converged", "error", "rule", "target"}
    clash = sorted(set(axes) & reserved)
    if clash:
        raise SpecError(f"condition name(s) {clash} are output columns; rename them "
                        "(e.g. n -> n_obs)")
    parsed = {}
    for mname, entry in methods.items():
        parsed[str(mname)] = entry if isinstance(entry, Method) else parse_method(str(mname),
                                                                                 entry)
    return Study(name=name, seed=seed, reps=reps, methods=parsed, focus=focus, formula=formula,
                 family=str(family), conditions=axes,
                 exclude=check_exclusions(list(exclude), axes, what="value"),
                 generate=generate, model=model, sbc=dict(sbc) if sbc is not None else None,
                 level=float(level), alpha=float(alpha), root=Path(root), source=source,
                 notes=list(notes))


def parse_study(table: Mapping[str, Any], root: str | os.PathLike = ".",
                source: str = "") -> Study:
    """Build a :class:`Study` from a parsed study file.

    Raises
    ------
    SpecError
        For unknown tables or fields and everything :func:`build_study` refuses.
    """
    where = f"study {source}".strip()
    check_fields(table, TABLES, where)
    head = dict(table.get("study", {}))
    check_fields(head, STUDY_FIELDS, "[study]")
    gen = table.get("generate")
    if gen is not None:
        if not isinstance(gen, Mapping) or set(gen) != {"function"}:
            raise SpecError("[generate] takes one field: function = \"module:function\"")
        gen = gen["function"]
    notes = head.get("notes", [])
    study = build_study(
        methods=dict(table.get("methods", {})), focus=head.get("focus"),
        reps=head.get("reps", 100), seed=head.get("seed", 1), formula=head.get("formula"),
        family=head.get("family"), generate=gen, model=table.get("model"),
        conditions=table.get("conditions"), exclude=list(table.get("exclude", [])),
        sbc=table.get("sbc"), level=head.get("level", 0.95), alpha=head.get("alpha", 0.05),
        name=head.get("name", Path(source).stem if source else "study"), root=root,
        source=source, notes=[notes] if isinstance(notes, str) else list(notes))
    study.run_limits = {k: head[k] for k in RUN_FIELDS if k in head}
    return study


def load_study(path: str | os.PathLike) -> Study:
    """Read and parse a study file (TOML)."""
    path = Path(path)
    return parse_study(read_toml(path, "study file"), root=path.parent, source=str(path))


def study_limits(study: Study, *, task_timeout: float | None = None, retries: int | None = None,
                 memory_limit: str | int | None = None, isolate: bool = True) -> Limits:
    """The run's limits: the arguments given, else the study file's ``task_timeout``,
    ``retries`` and ``memory_limit``, else the defaults (:mod:`pybrms.runs.limits`).
    """
    return resolve_limits(study.run_limits, task_timeout=task_timeout, retries=retries,
                          memory_limit=memory_limit, isolate=isolate)
