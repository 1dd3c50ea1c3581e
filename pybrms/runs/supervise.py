"""Running a task in an R host, with its time limit, retries and memory limit.

The same code runs a task for a run in this process (one host, owned by the run) and on a Dask
worker (one host per worker process, kept for the worker's life): :func:`run_task` and
:func:`run_prepare` ask the host to call :func:`pybrms.runs.task.execute` (or the compile step)
and retry a timed-out, crashed or memory-killed attempt on a fresh host.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .host import Host, TaskFailure
from .limits import machine_share
from .task import Task, execute_here, prepare_here

_host: Host | None = None
_host_lock = threading.Lock()


def _dask_memory_limit() -> int | None:
    """The memory limit of the Dask worker this runs in (bytes), if it has one."""
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    return int(limit) if limit else None


def worker_host(log_dir: str | None, memory_limit: int | None) -> Host:
    """The host of the process this runs in (made on first use, kept across tasks: a Dask
    worker's).
    """
    global _host
    with _host_lock:
        if _host is None:
            limit = memory_limit or _dask_memory_limit() or machine_share(1)
            _host = Host(log_dir, limit)
            atexit.register(_host.close)
        return _host


def attempts(call: Callable[[Host], Any], host: Host, retries: int) -> Any:
    """Run ``call(host)``; retry a retryable failure (timeout, crash, memory) on a fresh host.

    Raises
    ------
    TaskFailure
        The last attempt's failure, its reason naming every attempt.
    Exception
        What the task itself raised (not retried).
    """
    reasons: list[str] = []
    for attempt in range(retries + 1):
        try:
            return call(host)
        except TaskFailure as exc:
            if not exc.retryable:
                raise
            reasons.append(exc.reason)
            host.kill()
            if attempt == retries:
                if len(reasons) > 1:
                    exc.reason = (f"{exc.reason} (gave up after {len(reasons)} attempts: "
                                  + "; ".join(reasons[:-1]) + ")")
                    exc.args = (exc.reason,)
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Supervision:
    """How one task is supervised where it runs (picklable: it travels with a Dask task).

    Attributes
    ----------
    timeout : float
        Seconds one attempt may take.
    retries : int
        Attempts after the first for a timeout, crash or memory kill.
    memory_limit : int, optional
        Bytes the R host may use (None: the worker's or the machine's share).
    log_dir : str, optional
        Where the R hosts write their logs.
    """

    timeout: float
    retries: int = 1
    memory_limit: int | None = None
    log_dir: str | None = None

    def host(self) -> Host:
        """The R host of the process this runs in (a Dask worker's)."""
        return worker_host(self.log_dir, self.memory_limit)


def run_task(task: Task, folder: str, how: Supervision, host: Host | None = None,
             echo: Callable[[str], None] | None = None, quiet: bool = True) -> dict[str, Any]:
    """Run ``task`` in an R host (``host``, else this process's) and return its record.

    What a Dask worker runs for each task; a run in this process calls it with its own host.
    """
    return attempts(lambda h: h.call(execute_here, task, folder, quiet=quiet, echo=echo,
                                     timeout=how.timeout),
                    host if host is not None else how.host(), how.retries)


def run_prepare(task: Task, how: Supervision, host: Host | None = None) -> dict[str, Any]:
    """Run a structure's compile step in an R host (as :func:`run_task`)."""
    return attempts(lambda h: h.call(prepare_here, task, timeout=how.timeout),
                    host if host is not None else how.host(), how.retries)


def log_folder(folder: str | Path) -> str:
    """Where the R hosts of a run whose checkpoints are in ``folder`` write their logs."""
    return str(Path(folder).parent / "logs")
