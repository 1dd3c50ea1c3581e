"""The tasks of a study: one per condition x replicate x method, on the shared run engine.

Each task carries its study, condition, replicate and method (small, picklable: the data are
drawn in the worker from the replicate's own seed stream, so every method of a replicate fits
the same data set, whichever worker runs it); :func:`fit_replicate` is the run engine's work
and :func:`compile_replicate` the prepare step of a model structure (brms compiles once per
structure for the whole study: replicates reach the compiled program as data).

:func:`build_tasks` checks everything Python can before any fit: the methods' engines and
options, the generator's columns and truths on replicate 0 of every condition, the estimands
against the model's parameters, and every method's model on that data (engine ``check``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import bridge
from ..checks import ModelCheck, check_models, raise_problems
from ..engines import ENGINES, get_engine
from ..errors import EngineError, SpecError
from ..runs.fitting import FitRequest, fit_record, prepare_request, with_stanvars
from ..runs.task import Task, WorkContext
from ..spec.formula import parse_formula
from ..spec.model import FitSpec
from ..spec.prior_tables import to_priors
from . import declarative
from .generate import check_columns, describe, replicate_data, resolve_callable
from .sbc_ranks import DEFAULT_THIN, sbc_rank_frame
from .seeds import sampler_seed
from .spec import QUICK, Method, Study, condition_id

#: families whose brms default priors are constants (no data-dependent location or scale)
_CONSTANT_DEFAULTS = ("bernoulli", "binomial", "categorical", "cumulative")


@dataclass
class ReplicateTask:
    """What a worker needs to fit one replicate with one method (picklable).

    Attributes
    ----------
    study : Study
        The study (its generator, seed, model).
    condition : dict
        The condition's values.
    rep : int
        The replicate (0-based).
    method : str
        The method's name.
    engine, formula, family : str
        The method's engine and analysis model.
    priors : list of Prior
        The method's priors (constants as data names when ``stanvars`` is set).
    stanvars : dict
        Data names -> numbers for brms ``stanvar()``.
    options : dict
        Engine options (the sampler seed of the replicate included).
    key : str
        The checkpoint key.
    structure : str, optional
        The model structure (one compiled program), for compiling engines.
    sbc_thin : int, optional
        Compute SBC ranks with this thinning (Bayesian methods of an SBC study).
    save_fit : bool
        Keep the engine's own object (brms ``.rds``) beside the record.
    """

    study: Study
    condition: dict[str, Any]
    rep: int
    method: str
    engine: str
    formula: str
    family: str
    priors: list
    stanvars: dict[str, float]
    options: dict[str, Any]
    key: str = ""
    structure: str | None = None
    sbc_thin: int | None = None
    save_fit: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``<condition>__r<rep>__<method>``: the checkpoint's file stem."""
        return f"{condition_id(self.condition)}__r{self.rep:04d}__{self.method}"

    def request(self, data: Any) -> FitRequest:
        """The fit of this replicate's ``data``."""
        return FitRequest(self.engine, self.formula, self.family, data, list(self.priors),
                          dict(self.options), self.study.level, dict(self.stanvars))


# ----- the worker's side -----------------------------------------------------------------------
def stan_seconds(fit: Any) -> float | None:
    """Seconds Stan spent in warm-up and sampling, summed over chains (brms fits).

    Stan times its chains with ``std::clock``: CPU seconds, comparable with the fit's
    ``cpu_seconds`` whatever else runs on the machine.
    """
    r = getattr(fit, "r", None)
    if r is None:
        return None
    ro = bridge.ensure_r()
    fn = ro.r("function(x) sum(rstan::get_elapsed_time(x$fit))")
    return float(fn(r)[0])


def _draw_name(term: str) -> str:
    """A tidy term's name among a fit's draws: ``x`` -> ``b_x``; SDs, correlations, sigma as
    they are.
    """
    return term if term.startswith(("sd_", "cor_")) or term == "sigma" else f"b_{term}"


def fit_replicate(task: Task, context: WorkContext) -> dict[str, Any]:
    """The run engine's work: draw the replicate's data, fit it, return the record."""
    p: ReplicateTask = task.payload
    t0 = time.perf_counter()
    df, truth = replicate_data(p.study, p.condition, p.rep)
    generate_s = time.perf_counter() - t0
    caps = get_engine(p.engine).capabilities

    def add(fit: Any, record: dict[str, Any]) -> None:
        if caps.compiles:
            record["stan_seconds"] = stan_seconds(fit)
        if p.sbc_thin is not None and caps.draws:
            names = {_draw_name(t): v for t, v in truth.items()}
            draws = fit.draws(list(names))
            frame = sbc_rank_frame(names, draws, thin=p.sbc_thin, seed=p.options.get("seed"))
            record["sbc"] = frame.to_dict(orient="records")

    cpu0 = time.process_time()  # R runs in this process: its CPU time counts here
    record, _fit = fit_record(p.request(df), fit_path=context.fit_path if p.save_fit else None,
                              add=add)
    record["cpu_seconds"] = round(time.process_time() - cpu0, 4)
    record.update(method=p.method, condition=dict(p.condition), rep=p.rep, truth=truth,
                  generate_seconds=round(generate_s, 4), **describe(df))
    return record


def compile_replicate(task: Task) -> dict[str, Any]:
    """Build the structure's Stan program from this task's data and compile it into the cache
    (or find it there): once per model structure, before its replicates fan out.
    """
    p: ReplicateTask = task.payload
    df, _ = replicate_data(p.study, p.condition, p.rep)
    return prepare_request(p.request(df))


# ----- the client's side -----------------------------------------------------------------------
def _hash(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _generator_fingerprint(study: Study) -> str:
    """The generator's identity for checkpoint keys: its name and, where Python can read it,
    its source (editing the generator refits).
    """
    if study.model is not None:
        return _hash({"model": study.model, "sbc": study.sbc})
    fn = resolve_callable(study.generate)
    try:
        source = inspect.getsource(inspect.getmodule(fn) or fn)
    except (OSError, TypeError):
        source = ""
    return _hash({"generate": study.generator_label, "source": source})


def data_dependent_priors(method: Method, family: str, formula: str,
                          priors: list[dict[str, Any]]) -> bool:
    """True when brms would write data-dependent default priors into the Stan code (a program
    per replicate): a family other than bernoulli/binomial without explicit priors on
    ``Intercept``, ``sd`` (with group terms) and ``sigma`` (gaussian).
    """
    if any(family.startswith(f) for f in _CONSTANT_DEFAULTS):
        return False
    given = {p.get("class", "b") for p in priors if not p.get("coef") and not p.get("group")}
    needed = {"Intercept"}
    try:
        parsed = parse_formula(formula)
        if parsed.groups:
            needed.add("sd")
        if not parsed.has_intercept:
            needed.discard("Intercept")
    except SpecError:
        return True
    if family.startswith(("gaussian", "student", "lognormal", "skew_normal")):
        needed.add("sigma")
    return not needed <= given


def method_options(study: Study, method: Method, quick: bool) -> dict[str, Any]:
    """The engine options of a method: its own, ``--quick`` chains, quiet sampling; checked.

    Raises
    ------
    SpecError
        For an option the method's engine does not take, or a value it refuses.
    """
    module = get_engine(method.engine)
    caps = module.capabilities
    options = dict(method.options)
    if quick and caps.sampler:
        options.update(QUICK)
    if caps.sampler:  # chains one after another unless the method says cores = N
        options = {"cores": 1, "diagnose": False, "refresh": 0, **options}
    options["quiet"] = True
    names = set(module.options.names())
    unknown = sorted(k for k in options if k not in names and k not in ("quiet",))
    if unknown:
        raise SpecError(f"method {method.name!r}: engine {method.engine!r} takes no option(s) "
                        f"{unknown}; its options: {', '.join(sorted(names))}")
    options = {k: v for k, v in options.items() if k in names}
    try:
        module.options.build(options)
    except (SpecError, EngineError, TypeError, ValueError) as exc:
        raise SpecError(f"method {method.name!r}: {exc}") from exc
    return options


def check_estimands(study: Study, formula: str, family: str, df: Any,
                    truth: Mapping[str, float], method: str, where: str) -> None:
    """Refuse estimands without a true value, and truths or estimands naming parameters the
    model does not have (plain formulas; brms's model language is left to brms).
    """
    missing = [t for t in study.focus if t not in truth]
    if missing:
        raise SpecError(f"{where}: no true value for the estimand(s) {missing}; truths: "
                        f"{sorted(truth)}")
    try:
        known = {_term(n) for n in declarative.parameter_names(formula, family, df)}
    except (SpecError, KeyError):
        return  # not a plain formula or columns Python cannot read: brms judges
    unknown = [t for t in study.focus if t not in known]
    if unknown:
        raise SpecError(f"method {method!r} does not estimate the estimand(s) {unknown}: the "
                        f"model {formula!r} ({family}) has {sorted(known)}")
    if study.model is None:
        extra = [t for t in truth if t not in known]
        if extra:
            raise SpecError(f"{where} gives true value(s) for {extra}, which the model "
                            f"{formula!r} ({family}) does not have; its parameters: "
                            f"{sorted(known)}")


def _term(name: str) -> str:
    return name[2:] if name.startswith("b_") else name


def build_tasks(study: Study, *, reps: int | None = None, quick: bool = False,
                save_fits: bool = False) -> tuple[list[ReplicateTask], list[str]]:
    """Every (condition, replicate, method) task, checked; and notes for the summary.

    Raises
    ------
    SpecError, EngineError, DataError
        Naming the method, condition and problem, before anything is fitted.
    """
    reps = study.reps if reps is None else reps
    if not isinstance(reps, int) or reps < 1:
        raise SpecError(f"reps must be a positive integer, got {reps!r}")
    unknown = [m.engine for m in study.methods.values() if m.engine not in ENGINES]
    if unknown:
        raise EngineError(f"unknown engine(s) {unknown}; available: {', '.join(ENGINES)}")
    if study.model is not None:
        declarative.check_model(study.model)
    notes: list[str] = []
    conditions = study.condition_list()
    fingerprint = _generator_fingerprint(study)
    sbc_thin = int((study.sbc or {}).get("thin", DEFAULT_THIN)) if study.sbc is not None else None
    prepared: dict[str, tuple[Method, dict[str, Any], list, dict[str, float]]] = {}
    for method in study.methods.values():
        module = get_engine(method.engine)
        caps = module.capabilities
        tables = method.priors or (list((study.sbc or {}).get("prior") or [])
                                   if study.sbc is not None and caps.uses_priors else [])
        as_data = caps.compiles and "stanvars" in module.options.names()
        priors, stanvars = to_priors(tables, as_data) if caps.uses_priors else ([], {})
        prepared[method.name] = (method, method_options(study, method, quick), priors, stanvars)
        formula, family = method.formula or study.formula, method.family or study.family
        if caps.compiles and data_dependent_priors(method, family, formula, tables):
            notes.append(f"method {method.name!r}: brms writes data-dependent default priors "
                         f"for family {family!r} into the Stan code, so each replicate "
                         "compiles its own program; give priors on Intercept, sd and sigma "
                         "to compile once")
    tasks: list[ReplicateTask] = []
    models: list[ModelCheck] = []
    for condition in conditions:
        where = (f"generate {study.generator_label!r}" if study.model is None
                 else "the declarative model") + f" (condition {condition_id(condition)}, rep 0)"
        df, truth = replicate_data(study, condition, 0)
        check_columns(study, df, where)
        for name, (method, options, priors, stanvars) in prepared.items():
            module = get_engine(method.engine)
            caps = module.capabilities
            formula, family = method.formula or study.formula, method.family or study.family
            check_estimands(study, formula, family, df, truth, name, where)
            try:
                spec = FitSpec.build(formula, df, family, priors if caps.uses_priors else None)
                module.check(spec)
            except (SpecError, EngineError) as exc:
                raise type(exc)(f"method {name!r}, condition {condition_id(condition)}: "
                                f"{exc}") from exc
            models.append(ModelCheck(
                f"method {name!r}, condition {condition_id(condition)}", method.engine, spec,
                with_stanvars(method.engine, options, stanvars)))
            dependent = caps.compiles and data_dependent_priors(
                method, family, formula,
                [{"class": p.class_, "coef": p.coef, "group": p.group} for p in priors])
            base = {"formula": formula, "family": family, "engine": method.engine,
                    "priors": [p.to_dict() for p in priors],
                    "stanvar_names": sorted(stanvars), "columns": sorted(map(str, df.columns))}
            for rep in range(reps):
                opts = dict(options)
                if caps.sampler and "seed" in get_engine(method.engine).options.names():
                    opts.setdefault("seed", sampler_seed(study.seed, condition, rep))
                structure = None
                if caps.compiles:
                    structure = _hash({**base, **({"condition": condition, "rep": rep}
                                                  if dependent else {})})
                key = _hash({"study_seed": study.seed, "generator": fingerprint,
                             "condition": condition, "rep": rep, "method": name,
                             "engine": method.engine, "formula": formula, "family": family,
                             "priors": [p.to_dict() for p in priors], "stanvars": stanvars,
                             "options": opts, "level": study.level, "sbc_thin": sbc_thin,
                             "save_fit": save_fits})
                tasks.append(ReplicateTask(
                    study=study, condition=dict(condition), rep=rep, method=name,
                    engine=method.engine, formula=formula, family=family, priors=list(priors),
                    stanvars=dict(stanvars), options=opts, key=key, structure=structure,
                    sbc_thin=sbc_thin if caps.draws else None, save_fit=save_fits))
    # each engine judges its models before the first fit: brms's build step and Stan's
    # parser (no compile) once per distinct structure, every problem listed at once
    raise_problems(check_models(models).problems, "the study")
    return tasks, notes


def run_task(rt: ReplicateTask) -> Task:
    """A replicate task as a task of the run engine."""
    caps = get_engine(rt.engine).capabilities
    chains = int(rt.options.get("chains", 4)) if caps.sampler else 0
    iters = int(rt.options.get("iter", 2000)) if caps.sampler else 1
    return Task(name=rt.name, engine=rt.engine, key=rt.key, work=fit_replicate, payload=rt,
                structure=rt.structure, prepare=compile_replicate if caps.compiles else None,
                label=f"{condition_id(rt.condition)} · rep {rt.rep} · {rt.method}",
                describe=f"{rt.method} ({rt.engine})",
                cost=float(max(chains, 1) * iters), chains=chains,
                native=bool(rt.save_fit and caps.saves_native))
