"""The one run engine: tasks -> one compile per model structure -> fan out -> checkpoints.

Every multi-fit command hands its tasks (:class:`~pybrms.runs.task.Task`) to :func:`run`:

1. tasks with a checkpoint of the same key are taken as done (a killed run resumes);
2. tasks that compile (``structure`` set) are grouped by model structure; on Dask one prepare
   task per structure builds its Stan program and compiles it into the compile cache (or finds
   it there), and the structure's tasks all fan out when it is done (their workers read the
   program from the cache: put ``PYBRMS_CACHE_DIR`` on a shared filesystem for a multi-machine
   cluster); in one process the first task of each structure compiles it;
3. tasks that compile nothing start at once;
4. each task's record is written atomically by the process that ran it the moment it finishes
   (and again here if that worker's folder is not shared), and reported to the progress.

A task that fails is recorded with its reason; the run stops at the first failure unless
``keep_going``, and a failed task has no checkpoint, so the next run retries it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointStore
from .host import Host, TaskCrashed
from .limits import Limits, TimeoutPolicy, machine_share
from .progress import Progress
from .supervise import Supervision, log_folder, run_prepare, run_task
from .task import Task, execute, prepare


@dataclass
class RunOutcome:
    """What a run did.

    Attributes
    ----------
    records : dict
        Task name -> record (fitted now or resumed).
    fitted, resumed : list of str
        Tasks fitted in this run, and taken from checkpoints.
    failed : dict
        Task name -> reason (with ``keep_going``); no checkpoint, so the next run retries them.
    compiled : list of str
        Program keys compiled in this run.
    programs : list of str
        Distinct program keys of every record (fitted or resumed).
    seconds : float
        Wall time.
    workers : int
        Processes the tasks ran in (1 in this process).

    Every command's result extends this one (``GridRun``, ``StudyRun``, the replication's
    ``RunResult``) with what the command adds; :meth:`take` carries a run's outcome into it.
    """

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    fitted: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    compiled: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    def take(self, outcome: RunOutcome) -> None:
        """Copy a run's outcome into this result (failures already recorded, e.g. by a pilot
        gate, are kept beside the run's).
        """
        for f in fields(RunOutcome):
            value = getattr(outcome, f.name)
            if f.name == "failed":
                value = {**self.failed, **value}
            setattr(self, f.name, value)


def detail(record: dict[str, Any], where: bool = False) -> str:
    """How a finished task got its program (and, with ``where``, which worker ran it): for
    its progress line.
    """
    how = ("compiled a new Stan program" if record.get("compiled")
           else "Stan program from cache" if record.get("stan_program") else "")
    return ", ".join(x for x in (how, record.get("worker", "") if where else "") if x)


class _Run:
    """The bookkeeping of one run (shared by the local and the Dask paths)."""

    def __init__(self, tasks: Sequence[Task], store: CheckpointStore, progress: Progress,
                 keep_going: bool, workers: int) -> None:
        self.tasks = list(tasks)
        self.store = store
        self.progress = progress
        self.keep_going = keep_going
        self.outcome = RunOutcome(workers=workers)

    def resume(self) -> list[Task]:
        """Take every task with a checkpoint; return the others."""
        todo = []
        for t in self.tasks:
            rec = self.store.load(t.name, t.key, t.native)
            if rec is None:
                if self.store.stale(t.name, t.key, t.native):
                    self.progress.note(f"{t.label}: checkpoint made with other settings or "
                                       "data; refitting")
                todo.append(t)
                continue
            self.outcome.records[t.name] = rec
            self.outcome.resumed.append(t.name)
            self.progress.resumed(t, rec.get("seconds"))
        return todo

    def plan(self, todo: list[Task]) -> tuple[dict[str, list[Task]], list[Task]]:
        """Group the compiling tasks by structure; the rest (and structures a resumed task
        already compiled) are free to start at once.
        """
        done = {t.structure for t in self.tasks
                if t.structure and t.name in self.outcome.records}
        groups: dict[str, list[Task]] = {}
        free: list[Task] = []
        for t in todo:
            if t.structure and t.prepare is not None and t.structure not in done:
                groups.setdefault(t.structure, []).append(t)
            else:
                free.append(t)
        return groups, free

    def accept(self, task: Task, record: dict[str, Any], seconds: float) -> None:
        if not self.store.record_path(task.name).exists():  # a worker whose folder is not ours
            self.store.save(task.name, record)
        self.outcome.records[task.name] = record
        self.outcome.fitted.append(task.name)
        if record.get("compiled") and record.get("stan_program"):
            self.outcome.compiled.append(record["stan_program"])
        self.progress.finish(task, float(record.get("seconds", seconds)),
                             detail(record, where=self.outcome.workers > 1))

    def reject(self, task: Task, exc: BaseException, seconds: float) -> None:
        reason = getattr(exc, "reason", None)
        message = f"{type(exc).__name__}: {reason or exc}"
        self.outcome.failed[task.name] = message
        self.progress.failed(task, seconds, message)
        if not self.keep_going:
            raise exc


def run(tasks: Sequence[Task], folder: str | Path, *, client: Any = None,
        progress: Progress | None = None, keep_going: bool = False,
        quiet: bool = True, echo: Callable[[str], None] | None = None,
        limits: Limits | None = None) -> RunOutcome:
    """Run every task not yet checkpointed in ``folder``; return what happened.

    Parameters
    ----------
    tasks : sequence of Task
        The run's tasks (unique names).
    folder : path
        The checkpoint folder (``OUT/cells``, ``OUT/fits``...); the R hosts' logs go to
        ``logs/`` beside it.
    client : distributed.Client, optional
        Run the tasks on this Dask cluster (:func:`pybrms.runs.cluster.dask_client`); None runs
        them here, one after another.
    progress : Progress, optional
        Where progress goes (default: a quiet one).
    keep_going : bool
        A failed task is recorded and the run goes on; otherwise the first failure stops it
        (finished tasks stay checkpointed either way).
    quiet : bool
        In this process: show no progress of each fit itself (chains).
    echo : callable, optional
        In this process: receives each fit's console output (default: the progress's chain
        lines when not quiet).
    limits : Limits, optional
        Time limit per attempt, retries, memory limit, isolation (:mod:`pybrms.runs.limits`;
        default: derived limits, one retry, each task in a supervised R host).

    Returns
    -------
    RunOutcome
    """
    t0 = time.perf_counter()
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"task names must be unique in a run; repeated: {dupes[:5]}")
    limits = limits if limits is not None else Limits()
    store = CheckpointStore(folder)
    progress = progress if progress is not None else Progress(tasks, enabled=False)
    workers = 1 if client is None else _n_workers(client)
    state = _Run(tasks, store, progress, keep_going, workers)
    policy = TimeoutPolicy(limits)
    todo = state.resume()
    for name in state.outcome.resumed:
        task = next(t for t in tasks if t.name == name)
        policy.observe(task, state.outcome.records[name].get("seconds"))
    groups, free = state.plan(todo)
    if groups:
        progress.note(f"{len(groups)} model structure(s) to compile or load first")
    if client is None:
        _run_here(state, groups, free, str(store.directory), quiet,
                  echo if echo is not None else (None if quiet else progress.console),
                  limits, policy)
    else:
        _run_on_dask(state, groups, free, str(store.directory), client, limits, policy)
    out = state.outcome
    out.programs = sorted({r["stan_program"] for r in out.records.values()
                           if r.get("stan_program")})
    out.compiled = sorted(set(out.compiled))
    out.seconds = time.perf_counter() - t0
    return out


def _n_workers(client: Any) -> int:
    return max(len(client.scheduler_info().get("workers", {})), 1)


def _run_here(state: _Run, groups: dict[str, list[Task]], free: list[Task], folder: str,
              quiet: bool, echo: Callable[[str], None] | None, limits: Limits,
              policy: TimeoutPolicy) -> None:
    """One task after another from this process: the first task of each structure compiles
    it; each task in the run's R host (or, without isolation, here).
    """
    leaders = [g[0] for g in groups.values()]
    order = leaders + [t for g in groups.values() for t in g[1:]] + free
    host = (Host(log_folder(folder), limits.memory or machine_share(1)) if limits.isolate
            else None)
    try:
        for task in order:
            state.progress.start(task)
            started = time.perf_counter()
            try:
                if host is None:
                    record = execute(task, folder, echo=echo, quiet=quiet)
                else:
                    how = Supervision(policy.for_task(task), limits.retries)
                    record = run_task(task, folder, how, host=host, echo=echo, quiet=quiet)
            except Exception as exc:  # noqa: BLE001 - any failure; interrupts still stop
                state.reject(task, exc, time.perf_counter() - started)
                continue
            policy.observe(task, record.get("seconds"))
            state.accept(task, record, time.perf_counter() - started)
    finally:
        if host is not None:
            host.close()


def _run_on_dask(state: _Run, groups: dict[str, list[Task]], free: list[Task], folder: str,
                 client: Any, limits: Limits, policy: TimeoutPolicy) -> None:
    """One prepare task per structure, then its tasks; free tasks at once. Tasks are handed to
    the workers a few at a time (twice the workers), so each one's time limit is set when it
    starts, from the pace of the tasks finished so far.
    """
    from distributed import as_completed

    progress = state.progress
    progress.note(f"{sum(len(g) for g in groups.values()) + len(free)} task(s) on "
                  f"{state.outcome.workers} Dask worker(s)")
    logs = log_folder(folder)
    by_key: dict[str, tuple[str, Any]] = {}
    submitted: dict[str, float] = {}
    ready: deque[Task] = deque(free)
    window = 2 * state.outcome.workers
    running = 0

    def submit(task: Task) -> Any:
        submitted[task.name] = time.perf_counter()
        key = f"pybrms-{task.key[:16]}-{task.name}"
        if limits.isolate:
            how = Supervision(policy.for_task(task), limits.retries, limits.memory, logs)
            fut = client.submit(run_task, task, folder, how, key=key, pure=False)
        else:
            fut = client.submit(execute, task, folder, key=key, pure=False)
        by_key[fut.key] = ("task", task)
        return fut

    def submit_prepare(structure: str, task: Task) -> Any:
        key = f"pybrms-prepare-{structure[:16]}"
        if limits.isolate:
            how = Supervision(policy.for_prepare(), limits.retries, limits.memory, logs)
            fut = client.submit(run_prepare, task, how, key=key, pure=False)
        else:
            fut = client.submit(prepare, task, key=key, pure=False)
        by_key[fut.key] = ("prepare", structure)
        return fut

    pending = as_completed([submit_prepare(s, g[0]) for s, g in groups.items()])

    def fill() -> None:
        nonlocal running
        while ready and running < window:
            pending.add(submit(ready.popleft()))
            running += 1

    fill()
    try:
        for fut in pending:
            kind, what = by_key.pop(fut.key)
            if kind == "prepare":
                group = groups[what]
                try:
                    info = fut.result()
                except Exception as exc:  # noqa: BLE001 - its tasks fail with it
                    for t in group:
                        state.reject(t, exc, 0.0)
                    fill()
                    continue
                if info.get("compiled"):
                    state.outcome.compiled.append(info["key"])
                progress.note(f"Stan program {str(info['key'])[:12]} "
                              + ("compiled" if info.get("compiled") else "found in the cache")
                              + f" in {info.get('seconds', 0):.0f} s; {len(group)} task(s) fan out")
                ready.extend(group)
                fill()
                continue
            task = what
            running -= 1
            seconds = time.perf_counter() - submitted[task.name]
            try:
                record = fut.result()
            except Exception as exc:  # noqa: BLE001
                state.reject(task, _worker_lost(exc), seconds)
                fill()
                continue
            policy.observe(task, record.get("seconds"))
            state.accept(task, record, seconds)
            fill()
    except BaseException:
        for fut in list(pending.futures):
            fut.cancel()
        raise


def _worker_lost(exc: BaseException) -> BaseException:
    """A Dask worker that died while running the task, in words."""
    if type(exc).__name__ == "KilledWorker":
        return TaskCrashed(f"the Dask workers running it died ({exc})")
    return exc
