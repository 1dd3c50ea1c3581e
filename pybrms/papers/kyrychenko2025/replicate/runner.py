"""Run a plan: build the frames, check every unit still to fit, hand the units to the run
engine, write the report.

Before the first fit, the units without a checkpoint are checked as ``--dry-run`` checks them
(:mod:`.checks`: data paths, each model structure by its engine without fitting, hypotheses'
parameters), and every problem is raised at once.

Every finished unit is checkpointed before the next starts (:mod:`pybrms.runs.checkpoint`), so a
run that is killed resumes where it stopped and redoes nothing; compiled Stan programs come from
the persistent cache (:mod:`pybrms.cache`), so each distinct program compiles once, and on Dask
each one is compiled by one prepare task before its units fan out (:mod:`pybrms.runs.engine`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ....checks import raise_problems
from ....engines import capabilities
from ....hashing import data_hash, sha256_file, sha256_text
from ....jsonio import write_json
from ....runs import engine as run_engine
from ....runs.checkpoint import CheckpointStore
from ....runs.cluster import dask_client, n_workers
from ....runs.engine import RunOutcome
from ....runs.fitting import prepare_request
from ....runs.limits import Limits
from ....runs.progress import Progress, format_seconds
from ....runs.task import Task, WorkContext
from ..frames import PREDICTORS, AnalysisFrames, build_frames
from . import fitting
from .checks import path_problems, unit_problems
from .fitting import unit_data
from .plan import Plan, Unit
from .report import write_report


@dataclass
class RunResult(RunOutcome):
    """What a replication run did: the run engine's outcome
    (:class:`~pybrms.runs.engine.RunOutcome`: records by unit, fitted, resumed, failed with
    reasons, programs, compiled, seconds, workers) and the report.

    Attributes
    ----------
    out : Path
        The output folder.
    report : dict of str to Path
        ``md`` and ``html`` report paths.
    """

    out: Path = field(default_factory=Path)
    report: dict[str, Path] = field(default_factory=dict)


def attribute_summary(frames: AnalysisFrames) -> list[dict[str, Any]]:
    """Mean response attribute (with a 95% normal interval) per conversation type (Figure 2g/h)."""
    df = frames["1b"]
    rows = []
    for ctype, g in df.groupby("conversation_type"):
        for attr in PREDICTORS:
            x = g[attr].to_numpy(float)
            se = float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")
            rows.append({"conversation_type": str(ctype), "attribute": attr,
                         "mean": float(np.mean(x)), "conf_low": float(np.mean(x) - 1.96 * se),
                         "conf_high": float(np.mean(x) + 1.96 * se), "n": int(len(x))})
    return rows


def _file_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in the data folder (provenance)."""
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


@dataclass
class UnitJob:
    """A unit with its rows, as a task of the run engine carries it (picklable)."""

    unit: Unit
    data: pd.DataFrame
    cores: int
    data_hash: str

    def request(self) -> Any:
        """The unit's fit (:func:`.fitting.request`)."""
        return fitting.request(self.unit, self.data, cores=self.cores, quiet=True)


def fit_unit_task(task: Task, context: WorkContext) -> dict[str, Any]:
    """The run engine's work for a unit: fit it, save the brmsfit, return the record."""
    job: UnitJob = task.payload
    record = fitting.fit_unit(job.unit, job.data, fit_path=context.fit_path, cores=job.cores,
                              echo=context.echo, quiet=context.quiet)
    record.update(unit=job.unit.name, aliases=[m.name for m in job.unit.aliases],
                  data_hash=job.data_hash)
    return record


def prepare_unit(task: Task) -> dict[str, Any]:
    """Compile a unit's Stan program into the cache (or find it there)."""
    return prepare_request(task.payload.request())


def unit_task(unit: Unit, df: pd.DataFrame, cores: int) -> Task:
    """A unit as a task of the run engine: one compile per (engine, formula, family, priors)."""
    m = unit.model
    caps = capabilities(unit.engine)
    dhash = data_hash(df)
    structure = None
    if caps.compiles:
        structure = sha256_text(json.dumps([unit.engine, m.formula, m.family,
                                            [[p.prior, p.class_] for p in m.priors]]))
    what = f"{len(df):,} rows" + (f"; {m.chains} chains x {m.draws} draws after {m.warmup} "
                                  "warm-up" if caps.sampler else "")
    return Task(name=unit.name, engine=unit.engine, key=unit.key(dhash), work=fit_unit_task,
                payload=UnitJob(unit, df, cores, dhash), structure=structure,
                prepare=prepare_unit if caps.compiles else None,
                label=f"{m.name} · {unit.engine}", describe=what,
                cost=unit_cost(unit, len(df)), chains=m.chains if caps.sampler else 0,
                native=caps.saves_native)


def unit_cost(unit: Unit, rows: int) -> float:
    """Relative cost of a unit: rows x chains x iterations for a sampler, rows otherwise."""
    m = unit.model
    return float(rows) * (m.chains * m.iter if capabilities(unit.engine).sampler else 1.0)


def run(
    plan: Plan,
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    scores: str | os.PathLike | None = None,
    cores: int | None = None,
    quiet: bool = False,
    stream: Any = None,
    keep_going: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    limits: Limits | None = None,
) -> RunResult:
    """Fit every unit of ``plan`` on the PRISM data in ``data`` and write the report to ``out``.

    Parameters
    ----------
    plan : Plan
        From :func:`pybrms.papers.kyrychenko2025.replicate.plan.build_plan`.
    data : path
        Folder with the four PRISM files (and ``scores.parquet`` unless ``scores`` is given).
    out : path
        Output folder: ``fits/`` (checkpoints), ``tables/``, ``figures/``, ``report.md``,
        ``report.html``, ``run.json``.
    scores : path, optional
        The attribute scores table (default ``DATA/scores.parquet``).
    cores : int, optional
        Parallel chains (default ``min(chains, CPUs)`` in this process, 1 on Dask workers).
    quiet : bool
        Only the final summary; no progress lines or sampler output.
    stream : text stream, optional
        Where progress lines go (default stderr).
    keep_going : bool
        A unit that fails is reported (progress, ``run.json``, the report) and the run goes on
        to the next; without it the first failure stops the run (finished units stay
        checkpointed either way, and a failed unit is retried by the next run).
    workers : int, optional
        Fit the units as tasks of a local Dask cluster of this many single-threaded worker
        processes (each unit's chains then run one after another unless ``cores`` is given).
    scheduler : str, optional
        Fit them on an existing Dask cluster (workers started with ``dask worker ADDRESS
        --nthreads 1``); ``out`` and ``PYBRMS_CACHE_DIR`` must be on a filesystem the workers
        share, since each worker writes its unit's brmsfit into ``out/fits``.
    limits : Limits, optional
        Time limit per fit, retries, memory limit, isolation (:mod:`pybrms.runs.limits`;
        default: derived limits, one retry, every fit in a supervised R process).

    Returns
    -------
    RunResult
    """
    t0 = time.perf_counter()
    data = Path(data)
    out = Path(out)
    scores_path = Path(scores) if scores is not None else data / "scores.parquet"
    what = "the replication's input"
    raise_problems(path_problems(data, scores), what)  # every missing path at once
    frames = build_frames(data, scores_path, **plan.frame_options)
    here = workers is None and scheduler is None
    if cores is None:
        cores = (min(max(u.model.chains for u in plan.units), os.cpu_count() or 1) if here
                 else 1)
    tasks = [unit_task(u, unit_data(frames, u), cores) for u in plan.units]
    limits = limits if limits is not None else Limits()
    # the units still to fit, checked as --dry-run checks them, before anything starts
    store = CheckpointStore(out / "fits")
    pending = {t.name for t in tasks if store.load(t.name, t.key, t.native) is None}
    problems, _checked = unit_problems([u for u in plan.units if u.name in pending], frames)
    raise_problems(problems, what)
    with dask_client(workers, scheduler, worker_deaths=limits.retries) as client:
        out.mkdir(parents=True, exist_ok=True)
        progress = Progress(tasks, stream=stream, enabled=not quiet,
                            workers=n_workers(client), name="replicate")
        outcome = run_engine.run(tasks, out / "fits", client=client, progress=progress,
                                 keep_going=keep_going, quiet=quiet, limits=limits)
    result = RunResult(out=out)
    result.take(outcome)
    result.seconds = time.perf_counter() - t0
    brms_units = plan.units_for(plan.reference)
    summary = {
        "units": len(plan.units), "brms_fits": len(brms_units),
        "fitted": result.fitted, "resumed": result.resumed, "failed": result.failed,
        "stan_programs_distinct": len(result.programs),
        "stan_programs_compiled": len(result.compiled),
        "compiled": result.compiled, "seconds": round(result.seconds, 1),
        "frame_options": plan.frame_options, "deviations": plan.deviations,
        "frames": frames.report.to_dict(), "data": str(data.resolve()),
        "data_files_sha256": _file_digest(data), "scores": str(scores_path),
        "python": platform.python_version(), "quick": plan.quick,
        "attribute_summary": attribute_summary(frames),
        "models_in_specs": [m.name for m in plan.models],
    }
    truth = data / "truth.json"
    if truth.exists():
        summary["simulated_truth"] = json.loads(truth.read_text())
    write_json(out / "run.json", summary)
    result.report = write_report(plan, result.records, summary, out)
    failed = f", {len(result.failed)} FAILED" if result.failed else ""
    line = (f"replicate: {len(result.fitted)} unit(s) fitted, {len(result.resumed)} resumed from "
            f"checkpoints{failed}; {len(brms_units)} brms fit(s) over {len(result.programs)} distinct "
            f"Stan program(s), {len(result.compiled)} compiled in this run; "
            f"{format_seconds(result.seconds)}")
    progress.note(line)  # no unit is current any more: printed as is, unless quiet
    return result
