"""Dask workers for pybrms on a SLURM or PBS cluster, through dask-jobqueue.

One batch job per Dask worker; each worker is one process with one Dask thread (R is
single-threaded and not re-entrant, so every worker embeds its own R), and the job's CPUs are
for brms's chains (``cores = N`` in the fit options). Each job script activates the Python
environment pybrms is installed in and exports ``PYBRMS_CACHE_DIR``, a folder every node mounts,
so a Stan program compiles once and every worker loads it.

>>> cluster = slurm_cluster(environment="/shared/pybrms/.venv", cache_dir="/shared/pybrms-cache",
...                         cpus=4, memory="16GB", walltime="04:00:00", queue="normal")
>>> print(cluster.job_script())   # look before submitting anything
>>> cluster.scale(jobs=32)         # submits 32 jobs (sbatch)
>>> pybrms.sensitivity("grid.toml", out="/shared/runs/grid1",
...                    scheduler=cluster.scheduler_address)

The scheduler lives in the Python process that built the cluster: keep it running while the run
lasts (``slurm.py`` / ``pbs.py`` beside this file do that from the command line).

Checked without a cluster (tests/fast/test_cluster_examples.py): the job scripts dask-jobqueue
renders hold exactly the lines above. Nothing here has been submitted to a real SLURM or PBS
cluster yet.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any


def job_prologue(environment: str, cache_dir: str, activate: str | None = None) -> list[str]:
    """The shell lines every job runs before its Dask worker starts.

    Parameters
    ----------
    environment : str
        The Python environment pybrms is installed in (a venv or conda prefix), on a filesystem
        every node mounts.
    cache_dir : str
        The shared compile cache, exported as ``PYBRMS_CACHE_DIR``.
    activate : str, optional
        The line that activates the environment (default ``source <environment>/bin/activate``;
        for conda, e.g. ``conda activate pybrms``).
    """
    if not cache_dir:
        raise ValueError("cache_dir: a folder every node mounts (the shared compile cache)")
    line = activate or f"source {shlex.quote(environment.rstrip('/') + '/bin/activate')}"
    return [line, f"export PYBRMS_CACHE_DIR={shlex.quote(cache_dir)}"]


def _common(environment: str, cache_dir: str, memory: str, activate: str | None,
            kwargs: dict[str, Any]) -> dict[str, Any]:
    prologue = job_prologue(environment, cache_dir, activate)
    return {
        "cores": 1,  # one Dask thread per worker ...
        "processes": 1,  # ... in one worker process per job
        "memory": memory,  # the job's memory, and the worker's --memory-limit
        "python": f"{environment.rstrip('/')}/bin/python",
        "job_script_prologue": [*prologue, *kwargs.pop("job_script_prologue", [])],
        **kwargs,
    }


def slurm_cluster(environment: str = sys.prefix, *, cache_dir: str, cpus: int = 4,
                  memory: str = "16GB", activate: str | None = None, **kwargs: Any) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` of single-threaded pybrms workers (no job submitted).

    Parameters
    ----------
    environment : str
        Prefix of the Python environment pybrms is installed in (default: this one).
    cache_dir : str
        Shared compile cache (``PYBRMS_CACHE_DIR`` in every job).
    cpus : int
        CPUs per job (``--cpus-per-task``), for brms's chains; pass the same ``cores`` to brms.
    memory : str
        Memory per job; one brms compile peaks near 2.6 GB.
    activate : str, optional
        See :func:`job_prologue`.
    **kwargs
        Passed to ``SLURMCluster`` (``walltime``, ``queue``, ``account``,
        ``scheduler_options``, ...).
    """
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(job_cpu=cpus, **_common(environment, cache_dir, memory, activate, kwargs))


def pbs_cluster(environment: str = sys.prefix, *, cache_dir: str, cpus: int = 4,
                memory: str = "16GB", activate: str | None = None, **kwargs: Any) -> Any:
    """A ``dask_jobqueue.PBSCluster`` of single-threaded pybrms workers (no job submitted).

    Parameters are those of :func:`slurm_cluster`; ``cpus`` and ``memory`` become the job's
    ``-l select=1:ncpus=<cpus>:mem=<memory>``.
    """
    from dask_jobqueue import PBSCluster

    kwargs.setdefault("resource_spec", f"select=1:ncpus={cpus}:mem={memory}")
    return PBSCluster(**_common(environment, cache_dir, memory, activate, kwargs))


def main(kind: str, argv: list[str] | None = None) -> int:
    """The command line of ``slurm.py`` and ``pbs.py``."""
    import argparse

    p = argparse.ArgumentParser(prog=f"{kind}.py", description=f"pybrms workers on {kind.upper()}")
    p.add_argument("--environment", default=sys.prefix,
                   help="Python environment with pybrms, on a shared filesystem (default: this one)")
    p.add_argument("--activate", help="line that activates it (default: source ENV/bin/activate)")
    p.add_argument("--cache-dir", required=True, help="shared compile cache (PYBRMS_CACHE_DIR)")
    p.add_argument("--cpus", type=int, default=4, help="CPUs per job, for brms's chains")
    p.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    p.add_argument("--walltime", default="04:00:00")
    p.add_argument("--queue")
    p.add_argument("--account")
    p.add_argument("--jobs", type=int, default=4, help="jobs (workers) to submit")
    p.add_argument("--grid", help="a sensitivity grid to run (else: wait, print the address)")
    p.add_argument("--out", default="sensitivity", help="output folder of --grid (shared)")
    p.add_argument("--print-job-script", action="store_true",
                   help="print the job script and exit without submitting anything")
    a = p.parse_args(argv)
    build = slurm_cluster if kind == "slurm" else pbs_cluster
    extra = {k: v for k, v in (("queue", a.queue), ("account", a.account)) if v}
    cluster = build(a.environment, cache_dir=a.cache_dir, cpus=a.cpus, memory=a.memory,
                    activate=a.activate, walltime=a.walltime, **extra)
    try:
        if a.print_job_script:
            print(cluster.job_script())
            return 0
        cluster.scale(jobs=a.jobs)
        print(f"scheduler: {cluster.scheduler_address} ({a.jobs} jobs submitted)", flush=True)
        if a.grid:
            import pybrms

            pybrms.sensitivity(a.grid, out=a.out, scheduler=cluster.scheduler_address)
            return 0
        print("run `pybrms sensitivity GRID --scheduler ADDRESS` (or `pybrms replicate ... "
              "--scheduler ADDRESS`) from another shell; Ctrl-C stops the workers", flush=True)
        import time

        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 130
    finally:
        cluster.close()
