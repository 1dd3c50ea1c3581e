"""Run a plan: build the frames, fit every unit not yet checkpointed, write the report.

Every finished unit is checkpointed before the next starts (:mod:`.checkpoint`), so a run that
is killed resumes where it stopped and redoes nothing; compiled Stan programs come from the
persistent cache (:mod:`pybrms.cache`), so each distinct program compiles once.
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

from ..atomic import atomic_write_text
from ..data.frames import PREDICTORS, AnalysisFrames, build_frames
from ..engines import capabilities
from ..spec.formula import parse_formula
from .checkpoint import CheckpointStore, _clean
from .plan import Plan, Unit
from .progress import Progress, format_seconds


@dataclass
class RunResult:
    """What a run did.

    Attributes
    ----------
    out : Path
        The output folder.
    records : dict of str to dict
        Unit name -> record (fitted now or resumed).
    fitted, resumed : list of str
        Units fitted in this run, and units taken from checkpoints.
    failed : dict of str to str
        Units that raised (with ``keep_going``), with the error; they have no checkpoint, so
        the next run retries them.
    compiled : list of str
        Stan program keys compiled in this run.
    programs : list of str
        Distinct Stan program keys of all brms units.
    seconds : float
        Wall time of the run.
    report : dict of str to Path
        ``md`` and ``html`` report paths.
    """

    out: Path
    records: dict[str, dict[str, Any]]
    fitted: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    compiled: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    report: dict[str, Path] = field(default_factory=dict)


def unit_data(frames: AnalysisFrames, unit: Unit) -> pd.DataFrame:
    """The rows and columns a unit fits: its frame, conversation type and formula's columns."""
    m = unit.model
    df = frames[m.frame]
    convo = m.convo_types[0] if len(m.convo_types) == 1 else "all"
    if convo != "all":
        df = df[df["conversation_type"] == convo]
    used = sorted(parse_formula(m.formula).variables)
    return df.loc[:, used].reset_index(drop=True)


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
    from ..hashing import sha256_file

    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


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
) -> RunResult:
    """Fit every unit of ``plan`` on the PRISM data in ``data`` and write the report to ``out``.

    Parameters
    ----------
    plan : Plan
        From :func:`pybrms.replicate.plan.build_plan`.
    data : path
        Folder with the four PRISM files (and ``scores.parquet`` unless ``scores`` is given).
    out : path
        Output folder: ``fits/`` (checkpoints), ``tables/``, ``figures/``, ``report.md``,
        ``report.html``, ``run.json``.
    scores : path, optional
        The attribute scores table (default ``DATA/scores.parquet``).
    cores : int, optional
        Parallel chains (default ``min(chains, CPUs)``).
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

    Returns
    -------
    RunResult
    """
    from ..hashing import data_hash
    from .report import write_report

    t0 = time.perf_counter()
    data = Path(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scores_path = Path(scores) if scores is not None else data / "scores.parquet"
    frames = build_frames(data, scores_path, **plan.frame_options)
    store = CheckpointStore(out / "fits")
    pairs = [(u, unit_data(frames, u)) for u in plan.units]
    progress = Progress([(u, len(d)) for u, d in pairs], stream=stream, enabled=not quiet)
    cores_given = cores
    cores = cores or min(max(u.model.chains for u in plan.units), os.cpu_count() or 1)
    result = RunResult(out=out, records={})
    todo: list[tuple[Unit, pd.DataFrame, str, str]] = []
    for unit, df in pairs:
        dhash = data_hash(df)
        key = unit.key(dhash)
        record = store.load(unit, key)
        if record is not None:
            progress.resumed(unit, record.get("seconds"))
            result.resumed.append(unit.name)
            result.records[unit.name] = record
            continue
        if store.stale(unit, key):
            progress.note(f"{unit.name}: checkpoint made with other settings or data; refitting")
        todo.append((unit, df, dhash, key))

    def accept(unit: Unit, dhash: str, key: str, record: dict[str, Any]) -> None:
        record.update(key=key, unit=unit.name, aliases=[m.name for m in unit.aliases],
                      data_hash=dhash, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        store.save(unit, record)
        result.fitted.append(unit.name)
        if record.get("compiled"):
            result.compiled.append(record["stan_program"])
        detail = ("compiled a new Stan program" if record.get("compiled")
                  else "Stan program from cache" if capabilities(unit.engine).compiles else "")
        progress.finish(unit, record["seconds"], detail)
        result.records[unit.name] = record

    def failed(unit: Unit, exc: BaseException, seconds: float) -> None:
        if not keep_going:
            raise exc
        message = f"{type(exc).__name__}: {exc}"
        result.failed[unit.name] = message
        progress.failed(unit, seconds, message)

    if workers is None and scheduler is None:
        from . import fitting

        for unit, df, dhash, key in todo:
            progress.start(unit, len(df))
            started = time.perf_counter()
            try:
                record = fitting.fit_unit(unit, df, fit_path=store.fit_path(unit), cores=cores,
                                          echo=progress.console, quiet=quiet)
            except Exception as exc:  # noqa: BLE001 - any engine failure; interrupts still stop
                failed(unit, exc, time.perf_counter() - started)
                continue
            accept(unit, dhash, key, record)
    else:
        _run_on_dask(todo, store, progress, accept, failed, workers=workers,
                     scheduler=scheduler, cores=cores_given or 1)
    result.programs = sorted({r["stan_program"] for r in result.records.values()
                              if "stan_program" in r})
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
    atomic_write_text(out / "run.json", json.dumps(_clean(summary), indent=1, default=str))
    result.report = write_report(plan, result.records, summary, out)
    failed = f", {len(result.failed)} FAILED" if result.failed else ""
    line = (f"replicate: {len(result.fitted)} unit(s) fitted, {len(result.resumed)} resumed from "
            f"checkpoints{failed}; {len(brms_units)} brms fit(s) over {len(result.programs)} distinct "
            f"Stan program(s), {len(result.compiled)} compiled in this run; "
            f"{format_seconds(result.seconds)}")
    progress.note(line)  # no unit is current any more: printed as is, unless quiet
    return result


def _fit_remote(unit: Unit, df: pd.DataFrame, fit_path: str, cores: int) -> dict[str, Any]:
    """A Dask task: fit one unit on the worker's R thread (quiet: no console to show)."""
    from ..sensitivity.cellfit import on_r_thread
    from . import fitting

    return on_r_thread(fitting.fit_unit, unit, df, fit_path=Path(fit_path), cores=cores,
                       quiet=True)


def _run_on_dask(todo: list, store: CheckpointStore, progress: Progress, accept: Any,
                 failed: Any, *, workers: int | None, scheduler: str | None,
                 cores: int) -> None:
    """Fit ``todo`` as Dask tasks: one unit per distinct brms model first, so each Stan
    program compiles once (the others read it from the compile cache), then the rest.
    """
    from ..sensitivity.cluster import dask_client, n_workers

    with dask_client(workers, scheduler) as client:
        from distributed import as_completed

        progress.note(f"{len(todo)} unit(s) on {n_workers(client)} Dask worker(s)")
        groups: dict[tuple, list] = {}
        for item in todo:
            m = item[0].model
            k = (item[0].engine, m.formula, m.family, tuple(p.prior + p.class_ for p in m.priors))
            groups.setdefault(k if capabilities(item[0].engine).compiles else (id(item),),
                              []).append(item)
        leaders = [g[0] for g in groups.values()]
        waiting = {id(g[0]): g[1:] for g in groups.values()}
        started: dict[str, float] = {}
        by_key: dict[str, tuple] = {}

        def submit(item: tuple) -> Any:
            unit = item[0]
            started[unit.name] = time.perf_counter()
            fut = client.submit(_fit_remote, unit, item[1], str(store.fit_path(unit)), cores,
                                key=f"pybrms-replicate-{item[3][:16]}-{unit.name}",
                                retries=2, pure=False)
            by_key[fut.key] = item
            progress.note(f"{unit.name}: submitted")
            return fut

        pending = as_completed([submit(it) for it in leaders])
        for fut in pending:
            unit, _df, dhash, key = item = by_key[fut.key]
            try:
                record = fut.result()
            except Exception as exc:  # noqa: BLE001
                failed(unit, exc, time.perf_counter() - started[unit.name])
            else:
                progress.index += 1
                accept(unit, dhash, key, record)
            for nxt in waiting.pop(id(item), []):
                pending.add(submit(nxt))
