"""Run a grid: check every cell, fit the tasks (on Dask or here), checkpoint, write the outputs.

Order of work:

1. every cell's data, model, priors and engine options are built and checked, then each
   engine checks each distinct model structure without fitting (brms: its build step and
   Stan's parser, no compile) and the focus terms are checked against the coefficients each
   engine will report (:func:`check_grid`); every problem is raised at once, before anything
   starts or is fitted;
2. tasks of one engine with one key (e.g. lme4 on cells that differ only in priors, which it
   does not take) are one fit: the first fits, the others share its record (``shared_with``;
   ``cells.csv`` names each row's ``fit``);
3. tasks with a checkpoint of the same key are taken as done (a killed run resumes);
4. brms tasks are grouped by model structure (formula, family, prior forms: cells that differ
   only in prior constants share one, the constants being Stan data); on Dask, one compile
   task per structure builds its Stan program and compiles it into the cache (or finds it
   there), and the structure's cells all fan out when it is done (their workers read the
   program from the compile cache; put ``PYBRMS_CACHE_DIR`` on a shared filesystem for a
   multi-machine cluster); in one process the first cell of each structure compiles it;
5. lme4 (and other non-compiling) tasks start at once.

Each task's record is written atomically to ``OUT/cells/<cell>__<engine>.json`` by the worker
the moment it finishes (and again by this process if the worker's folder is not shared).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from ..checks import (
    Checked,
    Collector,
    ModelCheck,
    Problem,
    check_focus,
    check_models,
    raise_problems,
)
from ..engines import ENGINES, get_engine
from ..errors import EngineError, PybrmsError
from ..hashing import data_hash
from ..jsonio import write_json
from ..runs import engine as run_engine
from ..runs.cluster import dask_client, n_workers
from ..runs.engine import RunOutcome
from ..runs.fitting import with_stanvars
from ..runs.limits import Limits, resolve_limits
from ..runs.progress import Progress, format_seconds
from ..spec.model import FitSpec
from .cellfit import CellTask, run_task, structure
from .grid import Cell, Grid
from .pilot import needs_pilot, pilot_key, plan_pilots, run_pilots
from .priors import expand_classes, literal, to_priors
from .report import write_outputs
from .transforms import apply_transforms

#: ``--quick``: short chains (recorded in run.json)
QUICK = {"chains": 2, "iter": 500, "warmup": 250}


@dataclass
class GridRun(RunOutcome):
    """What a grid run did: the run engine's outcome (:class:`~pybrms.runs.engine.RunOutcome`:
    records by ``<cell>__<engine>``, fitted, resumed, failed, programs, compiled, seconds,
    workers) and what the grid adds.

    Attributes
    ----------
    out : Path
        Output folder.
    cells : list of Cell
        The grid's cells.
    outputs : dict
        Output name -> path.
    stanvars : bool
        Prior constants passed to brms as data.
    pilots : dict
        Pilot checks of inexact engines against brms (:mod:`pybrms.sensitivity.pilot`).
    shared : dict
        Task -> the task whose fit it shares (its record in :attr:`records` is that fit's,
        with its own ``cell`` and ``shared_with``).
    """

    out: Path = field(default_factory=Path)
    cells: list[Cell] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    stanvars: bool = False
    pilots: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)


def stanvars_supported() -> bool:
    """True when the brms engine takes ``stanvars`` (prior constants as data)."""
    return "stanvars" in get_engine("brms").options.names()


@dataclass
class GridCheck:
    """A grid checked before any fit (:func:`check_grid`).

    Attributes
    ----------
    tasks : list of CellTask
        Every (cell, engine) task; those whose fit another task makes carry ``shared_with``.
    notes : list of str
        Things worth knowing that are not errors (a focus term some cells lack).
    checked : Checked, optional
        What the engines' preflight found (None when only Python's checks ran).
    """

    tasks: list[CellTask]
    notes: list[str] = field(default_factory=list)
    checked: Checked | None = None

    @property
    def fits(self) -> list[CellTask]:
        """The tasks that fit (each distinct fit once)."""
        return [t for t in self.tasks if t.shared_with is None]


def _engine_options(grid: Grid, found: Collector) -> None:
    """``engine_options``: every engine named must exist and every option be one it takes."""
    table = grid.base.get("engine_options") or {}
    where = "[base] engine_options"
    if not isinstance(table, Mapping):
        found.add("engine_options must be a table of engine -> options, e.g. "
                  "{ brms = { cores = 2 } }", where)
        return
    for engine, values in table.items():
        if engine not in ENGINES:
            found.add(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}", where)
            continue
        if not isinstance(values, Mapping):
            found.add(f"engine_options.{engine} must be a table of options", where, engine)
            continue
        names = get_engine(engine).options.names()
        unknown = sorted(set(values) - set(names))
        if unknown:
            message = (f"engine {engine} has no option(s) {', '.join(map(repr, unknown))}; "
                       f"its options are: {', '.join(names)}")
            found.add(message, where, engine, EngineError(message))


def _share(tasks: list[CellTask]) -> None:
    """Tasks of one engine with one key make one fit: the first fits, the others share it.

    The key holds everything that decides a fit (model, priors if the engine takes them,
    data, options), so an engine without priors (lme4, statsmodels) fits once per distinct
    model whatever the prior axes say.
    """
    first: dict[tuple[str, str], str] = {}
    for t in tasks:
        lead = first.setdefault((t.engine, t.key), t.name)
        t.shared_with = None if lead == t.name else lead


def plan_tasks(grid: Grid, cells: list[Cell], out: Path, quick: bool = False
               ) -> tuple[list[CellTask], list[FitSpec], list[Problem]]:
    """Every (cell, engine) task as its engine will fit it, with every problem Python finds.

    Nothing stops at the first problem: each cell and engine is checked and every problem is
    returned (data paths, transforms and filters, priors, unknown engines and engine
    options, formula and data, what the engine can express, option values).

    Returns
    -------
    (list of CellTask, list of FitSpec, list of Problem)
        The tasks that could be built (``shared_with`` set on those whose fit another task
        makes), their specs (one per task), and the problems.
    """
    as_data = stanvars_supported()
    found = Collector()
    _engine_options(grid, found)
    frames: dict[str, pd.DataFrame | BaseException] = {}
    tasks: list[CellTask] = []
    specs: list[FitSpec] = []
    for cell in cells:
        s = cell.settings
        where = f"cell {cell.id}"
        fkey = json.dumps([str(s["data"]) if not isinstance(s["data"], pd.DataFrame)
                           else id(s["data"]), s.get("frame_options") or {}], sort_keys=True)
        if fkey not in frames:
            try:
                frames[fkey] = grid.load_data(s["data"], s.get("frame_options"))
            except PybrmsError as exc:
                frames[fkey] = exc
        frame = frames[fkey]
        if isinstance(frame, BaseException):
            found.add(str(frame), where, error=frame)
            continue
        before = len(found.problems)
        with found.at(where):
            df = apply_transforms(frame, s.get("transform") or [], s.get("filter") or [], where)
        with found.at(where):
            tables = expand_classes(s.get("prior") or [], s.get("prior_classes"))
            data_priors, data_stanvars = to_priors(tables, as_data)
            literal_priors, _ = to_priors(tables, False)
        unknown = [e for e in s["engines"] if e not in ENGINES]
        if unknown:
            found.add(f"unknown engine(s) {unknown}; available: {', '.join(ENGINES)}", where,
                      error=EngineError(str(unknown)))
        if len(found.problems) > before:
            continue
        for engine in s["engines"]:
            if engine in unknown:
                continue
            module = get_engine(engine)
            caps = module.capabilities
            # prior constants as Stan data serve a compiling engine (one program for many
            # priors); any other engine that takes priors (fast) gets the numbers themselves
            priors, stanvars = ((data_priors, data_stanvars) if caps.compiles
                                else (literal_priors, {}))
            options = {k: s[k] for k in ("seed", "chains", "iter", "warmup") if s.get(k) is not None}
            if quick:
                options.update(QUICK)
            options["quiet"] = True
            if caps.sampler:  # chains one after another unless engine_options say cores = N
                options.update(cores=1, diagnose=False, refresh=0)
            own = (s.get("engine_options") or {}).get(engine, {})
            options.update(own if isinstance(own, Mapping) else {})
            opts = {k: v for k, v in options.items() if k in module.options.names()}
            before = len(found.problems)
            with found.at(where, engine):
                spec = FitSpec.build(s["formula"], df, s["family"],
                                     priors if caps.uses_priors else None)
                module.check(spec)
            with found.at(where, engine):  # option values, whatever the model's problems
                module.options.build({**opts, **({"stanvars": stanvars}
                                                 if stanvars and caps.compiles else {})})
            if len(found.problems) > before:
                continue
            used = spec.data
            key_parts = {"engine": engine, "formula": s["formula"], "family": s["family"],
                         "priors": [p.to_dict() for p in priors] if caps.uses_priors else [],
                         "stanvars": stanvars if caps.compiles else {}, "options": opts,
                         "data": data_hash(used)}
            key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()
                                 ).hexdigest()
            tasks.append(CellTask(cell=cell.id, engine=engine, formula=s["formula"],
                                  family=s["family"], priors=priors if caps.uses_priors else [],
                                  stanvars=stanvars if caps.compiles else {}, options=opts,
                                  data=used, key=key,
                                  conf_level=float(s.get("conf_level", 0.95)),
                                  extra={"prior_text": literal(priors, stanvars)
                                         if caps.uses_priors else [],
                                         # brms's form, for an inexact engine's pilot check
                                         "reference": {"priors": data_priors,
                                                       "stanvars": data_stanvars}}))
            specs.append(spec)
    _share(tasks)
    return tasks, specs, found.problems


def preflight_tasks(grid: Grid, tasks: list[CellTask], specs: list[FitSpec]
                    ) -> tuple[list[Problem], list[str], Checked]:
    """What the engines check without fitting, each model structure once
    (:func:`pybrms.checks.check_models`: for brms its build step and Stan's parser, no
    compile), and the grid's focus terms against each engine's coefficients
    (:func:`pybrms.checks.check_focus`).

    Returns
    -------
    (list of Problem, list of str, Checked)
        Problems, notes, and what was checked.
    """
    models = []
    for t, spec in zip(tasks, specs, strict=True):
        models.append(ModelCheck(f"cell {t.cell}", t.engine, spec,
                                 with_stanvars(t.engine, t.options, t.stanvars)))
    checked = check_models(models)
    values = {(f"cell {t.cell}", t.engine): t.stanvars for t in tasks if t.stanvars}
    problems = [_with_numbers(p, values) for p in checked.problems]
    focus_problems, notes = check_focus(list(grid.base.get("focus") or []), models,
                                        checked.terms, where="[base] focus")
    return problems + focus_problems, notes, checked


def _with_numbers(problem: Problem, values: Mapping[tuple[str, str], Mapping[str, float]]
                  ) -> Problem:
    """A problem's prior as the grid writes it: data names of prior constants (``sv_b_2``)
    replaced by the cell's numbers, before what brms wrote (which keeps the names).
    """
    stanvars = values.get((problem.where[0] if problem.where else "", problem.engine))
    if not stanvars:
        return problem
    head, sep, tail = problem.message.partition(" [brms wrote")
    for name, value in stanvars.items():
        head = re.sub(rf"\b{re.escape(name)}\b", f"{value:g}", head)
    return dataclasses.replace(problem, message=head + sep + tail)


def check_grid(grid: Grid, cells: list[Cell], out: Path, quick: bool = False, *,
               engines: bool = True) -> GridCheck:
    """Check every cell of ``grid`` as its engines will fit it; raise every problem at once.

    Python's checks (:func:`plan_tasks`) and, with ``engines``, the engines' own
    (:func:`preflight_tasks`: brms's build step and Stan's parser once per model structure,
    option values, focus terms) all run before anything is raised, so one run of the check
    lists every problem of the grid.

    Raises
    ------
    SpecError, DataError, EngineError
        One problem, as its own type; several as one
        :class:`~pybrms.checks.InputProblems` listing them all.
    """
    tasks, specs, problems = plan_tasks(grid, cells, out, quick=quick)
    notes: list[str] = []
    checked = None
    if engines and tasks:
        more, notes, checked = preflight_tasks(grid, tasks, specs)
        problems = problems + more
    raise_problems(problems, f"the grid {grid.source}".rstrip())
    return GridCheck(tasks=tasks, notes=notes, checked=checked)


def build_tasks(grid: Grid, cells: list[Cell], out: Path, quick: bool = False
                ) -> list[CellTask]:
    """Every (cell, engine) task, each checked in Python as its engine will fit it (no R:
    :func:`check_grid` adds the engines' own checks).

    Raises
    ------
    SpecError, DataError, EngineError
        Naming the cell and what is wrong, before anything is fitted (several problems: one
        :class:`~pybrms.checks.InputProblems` listing them all).
    """
    return check_grid(grid, cells, out, quick=quick, engines=False).tasks


def _pilot_structure(task: CellTask) -> str:
    """An inexact engine's model structure: its priors in brms's form (constants as data
    names), so cells that differ only in prior constants share one pilot.
    """
    ref = task.extra.get("reference") or {}
    return structure(dataclasses.replace(task, priors=list(ref.get("priors", task.priors))))


def _pilot_gate(tasks: list[CellTask], out: Path, client: Any, progress: Progress,
                result: GridRun, keep_going: bool, enabled: bool,
                limits: Limits) -> list[CellTask]:
    """Run the pilot checks; return the tasks allowed to run (all of them when every pilot
    agrees). A disagreeing pilot stops the run, or with ``keep_going`` fails its tasks.
    """
    if not enabled:
        if any(needs_pilot(t.engine) for t in tasks):
            progress.note("pilot checks against brms are OFF: inexact engines' cells are "
                          "not verified")
        return tasks
    plans = plan_pilots(tasks, out, _pilot_structure)
    if not plans:
        return tasks
    result.pilots = run_pilots(plans, client, progress.note, limits)
    refused = {name: rec for name, rec in result.pilots.items() if not rec["ok"]}
    if not refused:
        return tasks
    keep = []
    for t in tasks:
        rec = refused.get(pilot_key(_pilot_structure(t), t.engine))
        if rec is None:
            keep.append(t)
            continue
        message = (f"pilot check of engine {t.engine} against brms on cell {rec['cell']} "
                   f"disagreed ({rec['verdict']}); this model structure's {t.engine} cells "
                   f"are not run (see {out / 'pilot'})")
        if not keep_going:
            raise EngineError(message)
        result.failed[t.name] = f"EngineError: {message}"
        progress.note(f"[FAILED] {t.name}: {message}")
    return keep


def grid_limits(grid: Grid, *, task_timeout: float | None = None, retries: int | None = None,
                memory_limit: str | int | None = None, isolate: bool = True) -> Limits:
    """The run's limits: the arguments given, else the grid file's ``task_timeout``,
    ``retries`` and ``memory_limit``, else the defaults (:mod:`pybrms.runs.limits`).
    """
    return resolve_limits(grid.base, task_timeout=task_timeout, retries=retries,
                          memory_limit=memory_limit, isolate=isolate)


def with_shared(records: dict[str, dict[str, Any]], tasks: list[CellTask]
                ) -> dict[str, dict[str, Any]]:
    """The records with one for every task that shares another's fit: that fit's record, with
    the sharing task's ``cell`` and ``name`` and ``shared_with`` naming the fit.
    """
    out = dict(records)
    for t in tasks:
        if t.shared_with and t.shared_with in records:
            out[t.name] = {**records[t.shared_with], "cell": t.cell, "name": t.name,
                           "shared_with": t.shared_with}
    return out


def run_grid(grid: Grid, out: str | os.PathLike, *, workers: int | None = None,
             scheduler: str | None = None, quick: bool = False, design: str = "full",
             keep_going: bool = False, quiet: bool = False, stream: TextIO | None = None,
             power_scaling: bool = True, pilot: bool = True,
             limits: Limits | None = None) -> GridRun:
    """Fit every cell of ``grid`` with its engines and write the outputs to ``out``.

    Parameters
    ----------
    grid : Grid
        From :func:`~pybrms.sensitivity.grid.load_grid` or
        :func:`~pybrms.sensitivity.from_spec.grid_from_spec`.
    out : path
        Output folder: ``cells/`` (checkpoints), ``cells.csv``, ``specification_curve.png``
        and ``.pdf``, ``summary.md``, ``.html``, ``.tex``, ``run.json``.
    workers : int, optional
        Start a local Dask cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler.
    quick : bool
        Short chains (:data:`QUICK`).
    design : {"full", "one_at_a_time"}
        Every combination, or the base and each option alone.
    keep_going : bool
        Report failed tasks and go on; otherwise the first failure stops the run.
    quiet : bool
        No progress lines.
    stream : text stream, optional
        Where progress goes (stderr).
    power_scaling : bool
        Prior/likelihood power-scaling sensitivity of every brms fit.
    pilot : bool
        Check an inexact engine (``fast``) against brms on a reduced run of each model
        structure before its cells run (:mod:`pybrms.sensitivity.pilot`); False skips the
        check (recorded in ``run.json`` and the summary).
    limits : Limits, optional
        Time limit per task, retries, memory limit (:func:`grid_limits`: the grid file's,
        else the defaults).

    Returns
    -------
    GridRun
    """
    t0 = time.perf_counter()
    out = Path(out)
    limits = limits if limits is not None else grid_limits(grid)
    cells = grid.cells(design=design)
    check = check_grid(grid, cells, out, quick=quick)  # every problem, before anything starts
    all_tasks = check.tasks
    tasks = check.fits
    for t in all_tasks:
        t.power_scaling = power_scaling
    result = GridRun(out=out, cells=cells, stanvars=stanvars_supported(),
                     shared={t.name: t.shared_with for t in all_tasks if t.shared_with})
    # an unreachable scheduler: nothing written; a task whose worker dies is retried as any
    with dask_client(workers, scheduler, worker_deaths=limits.retries) as client:
        out.mkdir(parents=True, exist_ok=True)
        result.workers = n_workers(client)
        run_tasks = [run_task(t) for t in tasks]
        progress = Progress(run_tasks, stream=stream, enabled=not quiet,
                            workers=result.workers, name="sensitivity")
        progress.note(f"{len(cells)} cell(s) x engines = {len(all_tasks)} task(s), "
                      f"{len(tasks)} distinct fit(s), on {result.workers} worker(s)"
                      + (f" at {scheduler}" if scheduler else ""))
        for note in check.notes:
            progress.note(f"note: {note}")
        tasks = _pilot_gate(tasks, out, client, progress, result, keep_going, pilot, limits)
        allowed = {t.name for t in tasks}
        outcome = run_engine.run([t for t in run_tasks if t.name in allowed], out / "cells",
                                 client=client, progress=progress, keep_going=keep_going,
                                 limits=limits)
    result.take(outcome)
    result.records = with_shared(outcome.records, all_tasks)
    brms = [r for r in result.records.values() if r.get("stan_program")]
    result.seconds = time.perf_counter() - t0
    run_info = {
        "grid": grid.source, "notes": grid.notes, "design": design, "quick": quick,
        "quick_settings": QUICK if quick else None, "workers": result.workers,
        "scheduler": scheduler, "cells": len(cells), "tasks": len(all_tasks),
        "fits": len(check.fits), "shared_fits": result.shared, "check_notes": check.notes,
        "brms_cells": len(brms), "stan_programs": len(result.programs),
        "stan_programs_compiled": len(result.compiled), "prior_constants_as_data":
        result.stanvars, "fitted": result.fitted, "resumed": result.resumed,
        "failed": result.failed, "seconds": round(result.seconds, 1),
        "axes": {a: [o.name for o in opts] for a, opts in grid.axes.items()},
        "limits": {"task_timeout": limits.timeout or "derived", "retries": limits.retries,
                   "memory_limit": limits.memory or "machine share",
                   "isolated": limits.isolate},
        "pilot_checks": pilot, "pilots": [
            {k: p[k] for k in ("cell", "engine", "reference", "ok", "verdict", "max_abs_z",
                               "parameters", "formula", "settings")}
            for p in result.pilots.values()],
        "cells_by_engine": {e: sorted({r["cell"] for r in result.records.values()
                                       if r["engine"] == e})
                            for e in sorted({t.engine for t in all_tasks})},
    }
    write_json(out / "run.json", run_info)
    result.outputs = write_outputs(grid, result, all_tasks, run_info)
    if not quiet:
        print(f"sensitivity: {len(result.fitted)} task(s) fitted, {len(result.resumed)} resumed"
              f"{f', {len(result.failed)} FAILED' if result.failed else ''}; "
              f"{len(result.programs)} Stan program(s) for {len(brms)} brms cell(s), "
              f"{len(result.compiled)} compiled in this run; "
              f"{format_seconds(result.seconds)}", file=stream or sys.stderr, flush=True)
    return result
