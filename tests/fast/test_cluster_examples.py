"""examples/cluster: the SLURM and PBS job scripts dask-jobqueue renders for pybrms workers.

The clusters are built for real (each starts its Dask scheduler on 127.0.0.1) but no job is
submitted: no sbatch/qsub runs, and nothing here has run on a real SLURM or PBS cluster.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")  # in the dev extra (pyproject.toml)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cluster"
ENV, CACHE = "/shared/pybrms/.venv", "/shared/pybrms cache"  # a space: the export is quoted
LOCAL = {"host": "127.0.0.1", "dashboard_address": None}


def _module():
    spec = importlib.util.spec_from_file_location("pybrms_jobqueue", EXAMPLES / "pybrms_jobqueue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


jq = _module()


def _body(script: str, directive: str) -> tuple[list[str], list[str]]:
    """(the job's scheduler directives, the lines it runs)."""
    lines = [x for x in script.splitlines() if x.strip() and not x.startswith("#!")]
    return ([x for x in lines if x.startswith(directive)],
            [x for x in lines if not x.startswith(directive)])


def _check_runs(run: list[str], address: str) -> None:
    assert run[:2] == [f"source {ENV}/bin/activate", "export PYBRMS_CACHE_DIR='/shared/pybrms cache'"]
    assert len(run) == 3, run  # the environment, the cache, then the one worker
    worker = run[2]
    assert worker.startswith(f"{ENV}/bin/python -m distributed.cli.dask_worker {address} ")
    assert re.search(r" --nthreads 1( |$)", worker) and "--nworkers" not in worker  # one thread
    assert re.search(r" --memory-limit 14\.90GiB( |$)", worker)  # 16 GB (16e9 bytes) per worker


def test_slurm_job_script():
    cluster = jq.slurm_cluster(ENV, cache_dir=CACHE, cpus=4, memory="16GB", walltime="04:00:00",
                               queue="normal", account="proj42", scheduler_options=LOCAL)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        directives, run = _body(cluster.job_script(), "#SBATCH")
        assert directives == ["#SBATCH -J dask-worker", "#SBATCH -p normal", "#SBATCH -A proj42",
                              "#SBATCH -n 1", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=15G",
                              "#SBATCH -t 04:00:00"]
        _check_runs(run, cluster.scheduler_address)
        assert not cluster.workers and not cluster.worker_spec  # nothing submitted
    finally:
        cluster.close()


def test_pbs_job_script():
    cluster = jq.pbs_cluster(ENV, cache_dir=CACHE, cpus=4, memory="16GB", walltime="04:00:00",
                             queue="normal", account="proj42", scheduler_options=LOCAL)
    try:
        directives, run = _body(cluster.job_script(), "#PBS")
        assert directives == ["#PBS -N dask-worker", "#PBS -q normal", "#PBS -A proj42",
                              "#PBS -l select=1:ncpus=4:mem=16GB", "#PBS -l walltime=04:00:00"]
        _check_runs(run, cluster.scheduler_address)
        assert not cluster.workers and not cluster.worker_spec
    finally:
        cluster.close()


def test_conda_activation_and_extra_prologue():
    cluster = jq.slurm_cluster("/opt/conda/envs/pybrms", cache_dir="/c", activate="conda activate pybrms",
                               job_script_prologue=["module load gcc"], scheduler_options=LOCAL)
    try:
        _, run = _body(cluster.job_script(), "#SBATCH")
        assert run[:3] == ["conda activate pybrms", "export PYBRMS_CACHE_DIR=/c", "module load gcc"]
        assert run[3].startswith("/opt/conda/envs/pybrms/bin/python -m distributed.cli.dask_worker")
    finally:
        cluster.close()


def test_a_cache_dir_is_required():
    with pytest.raises(TypeError):
        jq.slurm_cluster(ENV)  # keyword-only, no default
    with pytest.raises(ValueError, match="a folder every node mounts"):
        jq.job_prologue(ENV, "")


@pytest.mark.parametrize(("script", "directive"), [("slurm.py", "#SBATCH"), ("pbs.py", "#PBS")])
def test_scripts_print_the_job_script_without_submitting(script, directive):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--environment", ENV, "--cache-dir", CACHE,
         "--cpus", "2", "--memory", "8GB", "--print-job-script"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    directives, run = _body(proc.stdout, directive)
    assert run[:2] == [f"source {ENV}/bin/activate", "export PYBRMS_CACHE_DIR='/shared/pybrms cache'"]
    assert " --nthreads 1 " in run[2] and " --memory-limit 7.45GiB " in run[2]
    cpus = "#SBATCH --cpus-per-task=2" if directive == "#SBATCH" else "#PBS -l select=1:ncpus=2:mem=8GB"
    assert cpus in directives
