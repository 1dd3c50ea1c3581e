"""Where tasks run: in this process, on a local Dask cluster, or on an existing Dask scheduler.

* ``workers=N``: a :class:`distributed.LocalCluster` of N single-threaded worker *processes* on
  127.0.0.1 (each embeds its own R: R is single-threaded and not re-entrant);
* ``scheduler="tcp://host:8786"``: an existing cluster whose workers were started with
  ``dask worker ADDRESS --nthreads 1`` (by hand, or by dask-jobqueue on SLURM/PBS);
* neither: every task runs here, one after another.

Unreachable schedulers and schedulers without workers are errors before anything is fitted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from ..errors import SpecError

#: how long to wait for a scheduler to answer, and for its first worker
CONNECT_TIMEOUT = 15
WORKER_TIMEOUT = 60


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - a dependency of pybrms
        raise SpecError("--workers/--scheduler need the 'distributed' package "
                        "(pip install 'dask[distributed]')") from exc
    return distributed


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, *,
                worker_deaths: int = 3) -> Iterator[Any]:
    """A connected :class:`distributed.Client`, or None to run in this process.

    ``worker_deaths`` is how many workers may die running one task before the scheduler gives
    up on it (a local cluster's ``allowed_failures``; an existing scheduler keeps its own
    setting, ``distributed.scheduler.allowed-failures``).

    Raises
    ------
    SpecError
        For both options at once, a worker count below 1, an unreachable scheduler, or a
        scheduler with no worker within :data:`WORKER_TIMEOUT` seconds.
    """
    if workers is not None and scheduler is not None:
        raise SpecError("give --workers or --scheduler, not both")
    if workers is None and scheduler is None:
        yield None
        return
    distributed = _distributed()
    if workers is not None:
        if not isinstance(workers, int) or workers < 1:
            raise SpecError(f"--workers must be a positive integer, got {workers!r}")
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=40,
            scheduler_kwargs={"allowed_failures": max(int(worker_deaths), 0)},
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            _close(cluster)
        return
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SpecError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            raise SpecError(f"the Dask scheduler at {scheduler!r} has no worker after "
                            f"{WORKER_TIMEOUT} s; start some with 'dask worker {scheduler} "
                            "--nthreads 1'") from exc
        yield client
    finally:
        client.close()


def _close(cluster: Any) -> None:
    """Close a local cluster; one slow to stop (a worker tearing down its R host) is not an
    error: every result is written by then.
    """
    try:
        cluster.close(timeout=30)
    except (TimeoutError, asyncio.CancelledError, OSError):
        pass


def n_workers(client: Any) -> int:
    """Workers connected to ``client`` (1 for in-process runs)."""
    if client is None:
        return 1
    return max(len(client.scheduler_info().get("workers", {})), 1)
