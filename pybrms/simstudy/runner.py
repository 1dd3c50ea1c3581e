"""Run a study: check it, fit every replicate with every method on the run engine, summarise.

Order of work:

1. the study's tasks are built and checked (:func:`~pybrms.simstudy.tasks.build_tasks`): a
   bad method, option, generator output, truth or estimand is an error now, before any fit;
2. the run engine (:mod:`pybrms.runs`) takes checkpointed tasks as done (a killed study
   resumes; a study rerun with more ``--reps`` fits only the new replicates), compiles each
   brms model structure once, then fans the replicates out (here or on Dask);
3. a method that fails on a replicate is recorded as a failure of that method on that
   replicate (with ``keep_going``) and counted in the summary;
4. the records become ``estimates.csv``; :func:`~pybrms.simstudy.performance.performance`
   gives ``performance.csv`` (every measure with its Monte Carlo SE, over all and over
   converged replicates), :func:`~pybrms.simstudy.performance.convergence_table` the
   convergence counts, and for an SBC study :func:`~pybrms.simstudy.sbc.sbc_test` the
   calibration test; then the figures and the summary (:mod:`.report`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from ..jsonio import write_json
from ..runs import engine as run_engine
from ..runs.cluster import dask_client, n_workers
from ..runs.engine import RunOutcome
from ..runs.limits import Limits
from ..runs.progress import Progress, format_seconds
from .estimates import estimates_frame, ranks_frame, same_data
from .performance import convergence_table, performance
from .report import write_outputs
from .spec import QUICK, Study, study_limits
from .tasks import ReplicateTask, build_tasks, run_task


@dataclass
class StudyRun(RunOutcome):
    """What a study run did and found: the run engine's outcome
    (:class:`~pybrms.runs.engine.RunOutcome`: records, fitted, resumed, failed, programs,
    compiled, seconds, workers) and what the study adds.

    Attributes
    ----------
    study : Study
        The study.
    out : Path
        Output folder.
    estimates : DataFrame
        One row per condition x replicate x method x estimand.
    performance : DataFrame
        Condition columns, ``method``, ``term``, ``subset``, ``measure``, ``value``,
        ``mcse``, ``n``, ``rule``, ``target``.
    convergence : DataFrame
        Failed / not converged / converged replicates per condition x method.
    ranks, sbc : DataFrame
        SBC ranks and the calibration test per condition x method x variable (SBC studies).
    tasks : list of ReplicateTask
        Every task.
    notes : list of str
        Notes for the summary.
    outputs : dict
        Output name -> path.
    """

    study: Study | None = None
    out: Path = field(default_factory=Path)
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    convergence: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranks: pd.DataFrame = field(default_factory=pd.DataFrame)
    sbc: pd.DataFrame = field(default_factory=pd.DataFrame)
    tasks: list[ReplicateTask] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)


def summarise(study: Study, tasks: list[ReplicateTask], records: dict[str, dict[str, Any]],
              failed: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The study's tables from its records: estimates, performance, convergence, SBC."""
    axes = list(study.conditions)
    est = estimates_frame(tasks, records, failed, study.focus, axes)
    usable = est[(est["error"] == "") & est["estimate"].notna()]
    perf = (performance(est, by=axes, alpha=study.alpha, level=study.level)
            if not usable.empty else pd.DataFrame())
    conv = convergence_table(est, by=axes) if not est.empty else pd.DataFrame()
    ranks = ranks_frame(tasks, records, axes)
    from .sbc import sbc_test  # scipy is heavy: loaded when a study has ranks to test

    test = (sbc_test(ranks, by=[*axes, "method"], prob=study.level)
            if not ranks.empty else pd.DataFrame())
    return {"estimates": est, "performance": perf, "convergence": conv, "ranks": ranks,
            "sbc": test, "same_data": same_data(est, axes)}


def run_study(study: Study, out: str | os.PathLike, *, workers: int | None = None,
              scheduler: str | None = None, reps: int | None = None, quick: bool = False,
              keep_going: bool = False, quiet: bool = False, stream: TextIO | None = None,
              save_fits: bool = False, figures: bool = True,
              limits: Limits | None = None) -> StudyRun:
    """Fit every replicate of ``study`` with every method and write the outputs to ``out``.

    Parameters
    ----------
    study : Study
        From :func:`~pybrms.simstudy.spec.load_study` or the Python API.
    out : path
        Output folder: ``fits/`` (checkpoints), ``estimates.csv``, ``performance.csv``,
        ``convergence.csv``, figures, ``summary.md``/``.html``/``.tex``, ``run.json``.
    workers : int, optional
        A local Dask cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running Dask scheduler.
    reps : int, optional
        Replicates per condition (default: the study's).
    quick : bool
        Short chains (:data:`~pybrms.simstudy.spec.QUICK`).
    keep_going : bool
        A failed fit is recorded and the study goes on.
    quiet : bool
        No progress lines.
    stream : text stream, optional
        Where progress goes (stderr).
    save_fits : bool
        Keep each brms fit's ``.rds`` beside its record.
    figures : bool
        Draw the figures.
    limits : Limits, optional
        Time limit per fit, retries, memory limit (:func:`~pybrms.simstudy.spec.study_limits`:
        the study file's, else the defaults).

    Returns
    -------
    StudyRun
    """
    t0 = time.perf_counter()
    out = Path(out)
    limits = limits if limits is not None else study_limits(study)
    tasks, notes = build_tasks(study, reps=reps, quick=quick, save_fits=save_fits)
    with dask_client(workers, scheduler, worker_deaths=limits.retries) as client:
        out.mkdir(parents=True, exist_ok=True)
        n = n_workers(client)
        run_tasks = [run_task(t) for t in tasks]
        progress = Progress(run_tasks, stream=stream, enabled=not quiet, workers=n,
                            name="simstudy")
        conditions = len({t.name.split("__r")[0] for t in tasks})
        progress.note(f"{conditions} condition(s) x {reps or study.reps} replicate(s) x "
                      f"{len(study.methods)} method(s) = {len(tasks)} fit(s) on {n} worker(s)"
                      + (f" at {scheduler}" if scheduler else ""))
        outcome = run_engine.run(run_tasks, out / "fits", client=client, progress=progress,
                                 keep_going=keep_going, limits=limits)
    tables = summarise(study, tasks, outcome.records, outcome.failed)
    if not tables["same_data"].empty:
        notes.append(f"{len(tables['same_data'])} replicate(s) whose methods saw different "
                     "data: the generator is not a pure function of its rng and condition")
    result = StudyRun(study=study, out=out, estimates=tables["estimates"],
                      performance=tables["performance"], convergence=tables["convergence"],
                      ranks=tables["ranks"], sbc=tables["sbc"], tasks=tasks, notes=notes)
    result.take(outcome)
    result.seconds = time.perf_counter() - t0
    run_info = run_summary(result, quick=quick, scheduler=scheduler, reps=reps or study.reps)
    write_json(out / "run.json", run_info)
    result.outputs = write_outputs(result, run_info, figures=figures)
    if not quiet:
        print(f"simstudy: {len(result.fitted)} fit(s), {len(result.resumed)} resumed"
              f"{f', {len(result.failed)} FAILED' if result.failed else ''}; "
              f"{len(result.programs)} Stan program(s), {len(result.compiled)} compiled in "
              f"this run; {format_seconds(result.seconds)}", file=stream or sys.stderr,
              flush=True)
    return result


def run_summary(result: StudyRun, *, quick: bool, scheduler: str | None, reps: int
                ) -> dict[str, Any]:
    """``run.json``: what ran, how, and the cost per method."""
    study = result.study
    est = result.estimates
    cost = []
    fits = {}
    for rec in result.records.values():
        fits.setdefault(rec.get("method", "?"), []).append(rec)
    for method, recs in fits.items():
        secs = [float(r.get("seconds", 0.0)) for r in recs]
        cpu = [float(r.get("cpu_seconds", 0.0)) for r in recs]
        stan = [float(r["stan_seconds"]) for r in recs if r.get("stan_seconds") is not None]
        row = {"method": method, "fits": len(recs), "seconds_mean": sum(secs) / len(secs),
               "cpu_seconds_mean": sum(cpu) / len(cpu)}
        if stan and len(stan) == len(recs) and sum(stan) > 0:
            row["stan_seconds_mean"] = sum(stan) / len(stan)
            # CPU beyond Stan's own sampling: build step, rstan set-up, summaries
            row["overhead_share"] = (sum(cpu) - sum(stan)) / sum(stan)
        cost.append(row)
    return {
        "study": study.name, "source": study.source, "seed": study.seed, "reps": reps,
        "conditions": study.condition_list(), "methods": {
            m.name: {"engine": m.engine, "priors": m.priors, "options": m.options}
            for m in study.methods.values()},
        "focus": study.focus, "generator": study.generator_label, "quick": quick,
        "quick_settings": QUICK if quick else None, "workers": result.workers,
        "scheduler": scheduler, "fits": len(result.tasks), "fitted": len(result.fitted),
        "resumed": len(result.resumed), "failed": result.failed,
        "stan_programs": len(result.programs), "stan_programs_compiled": len(result.compiled),
        "seconds": round(result.seconds, 1), "cost": cost, "notes": result.notes,
        "estimates_rows": int(len(est)),
    }
