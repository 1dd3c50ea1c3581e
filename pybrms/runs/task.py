"""A task of a run: one checkpointed piece of work (usually one fit), and what runs it.

Every multi-fit command (``pybrms replicate``, ``pybrms sensitivity``, ``pybrms simstudy``)
turns its input into :class:`Task` objects and hands them to the one run engine
(:func:`pybrms.runs.engine.run`). A task is picklable (a Dask worker runs it): its ``work`` and
``prepare`` are module-level functions, its ``payload`` plain data (specs, frames, options).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import bridge
from .checkpoint import CheckpointStore


@dataclass
class WorkContext:
    """What a task's ``work`` gets besides the task.

    Attributes
    ----------
    fit_path : Path
        Where an engine that saves its own object writes it (``<task>.fit.rds``), before the
        record.
    echo : callable, optional
        Receives the engine's console output as it arrives (chain progress); None on a worker.
    quiet : bool
        Show no progress of the fit itself.
    """

    fit_path: Path
    echo: Callable[[str], None] | None = None
    quiet: bool = True


@dataclass
class Task:
    """One checkpointed unit of work.

    Attributes
    ----------
    name : str
        Unique in its run: the checkpoint's file stem (``<model>__<engine>``,
        ``<cell>__<engine>``, ``<condition>__r<rep>__<method>``).
    engine : str
        The engine doing the work (progress paces each engine separately).
    key : str
        SHA-256 of everything that determines the record; a checkpoint with another key is
        refitted.
    work : callable
        ``work(task, context) -> record`` (a JSON-friendly dict), a module-level function.
    payload : any
        What ``work`` needs (picklable).
    structure : str, optional
        Tasks with one structure share one compiled program: the run prepares it once (see
        ``prepare``) before they fan out. None for engines that compile nothing.
    prepare : callable, optional
        ``prepare(task) -> {"key", "compiled", "seconds"}``: build and compile the structure's
        program into the compile cache (or find it there).
    label : str
        How progress names the task (default ``name``).
    describe : str
        What the task is, for its start line (``"12,402 rows; 4 chains x 1000 draws"``).
    cost : float
        Relative cost, for the ETA (rows x iterations for a sampler, rows otherwise).
    chains : int
        Sampler chains (chain progress lines are read for them); 0 for other engines.
    native : bool
        ``work`` writes the engine's own object to ``context.fit_path``; a checkpoint counts
        only with it.
    timeout : float, optional
        Wall-clock limit of one attempt, in seconds.
    """

    name: str
    engine: str
    key: str
    work: Callable[[Task, WorkContext], dict[str, Any]]
    payload: Any = None
    structure: str | None = None
    prepare: Callable[[Task], dict[str, Any]] | None = None
    label: str = ""
    describe: str = ""
    cost: float = 1.0
    chains: int = 0
    native: bool = False
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name


def worker_id() -> str:
    """``host:pid`` of this process (recorded with every record)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(task: Task, folder: str, echo: Callable[[str], None] | None = None,
            quiet: bool = True) -> dict[str, Any]:
    """Run ``task`` in this process and write its checkpoint into ``folder``; return the record.

    What an R host runs for each task (:mod:`pybrms.runs.host`), and a run without isolation
    runs here. A record already on disk with the task's key is returned as is (a retried task
    whose first attempt finished before its worker died). The record is written atomically the
    moment the work is done, so a result is on disk even if the client or the worker dies right
    after. R calls run on the process's R thread (:func:`pybrms.bridge.on_r_thread`).
    """
    return bridge.on_r_thread(execute_here, task, folder, echo=echo, quiet=quiet)


def execute_here(task: Task, folder: str, echo: Callable[[str], None] | None = None,
                 quiet: bool = True) -> dict[str, Any]:
    """:func:`execute` on the calling thread (an R host's main thread)."""
    store = CheckpointStore(folder)
    done = store.load(task.name, task.key, task.native)
    if done is not None:
        return done
    t0 = time.perf_counter()
    record = task.work(task, WorkContext(store.fit_path(task.name), echo, quiet))
    record.setdefault("seconds", round(time.perf_counter() - t0, 3))
    record.update(key=task.key, name=task.name, engine=record.get("engine", task.engine),
                  worker=worker_id(), finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if Path(folder).exists():
        store.save(task.name, record)
    return record


def prepare(task: Task) -> dict[str, Any]:
    """Run ``task.prepare`` on the process's R thread (the compile step of a structure)."""
    return bridge.on_r_thread(prepare_here, task)


def prepare_here(task: Task) -> dict[str, Any]:
    """:func:`prepare` on the calling thread (an R host's main thread)."""
    if task.prepare is None:
        return {"key": None, "compiled": False, "seconds": 0.0}
    return task.prepare(task)
