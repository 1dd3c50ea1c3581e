"""A cbpp grid (lme4's data, nothing to do with PRISM) with brms and lme4 on Dask.

One Stan program serves the whole module: the grid's two priors differ only in their constants,
which reach Stan as data (stanvars), and the compile cache is shared by every worker
(PYBRMS_CACHE_DIR, set for the session by tests/conftest.py and inherited by the workers).

* ``--workers 2`` (a LocalCluster) runs the grid end to end;
* a scheduler and two ``dask worker ADDR --nthreads 1`` processes started here on loopback give
  bit-identical brms estimates;
* a worker killed mid-run loses nothing: every cell finishes on the other, the checkpoints
  written before the kill are untouched, and a rerun resumes every cell without fitting.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import pybrms
from pybrms.sensitivity import parse_grid

pytestmark = pytest.mark.slow

CBPP = Path(__file__).resolve().parents[2] / "examples" / "grids" / "cbpp.csv"
#: Rscript, lme4 1.1-31: fixef(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
#: binomial, read.csv("examples/grids/cbpp.csv"))), all herds and without herd 1
GLMER_PERIOD = {"periodP2": -0.99192497, "periodP3": -1.12821622, "periodP4": -1.57974541}
GLMER_NO_HERD_1 = {"periodP2": -1.1620805, "periodP3": -1.4737160, "periodP4": -1.5827683}


def grid_table() -> dict:
    return {
        "base": {"data": str(CBPP), "formula": "incidence | trials(size) ~ period + (1 | herd)",
                 "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                 "chains": 2, "iter": 400, "warmup": 200, "seed": 7,
                 "engines": ["brms", "lme4"], "focus": ["periodP2", "periodP4"]},
        "axes": {"prior": {"normal_0_5": {},
                           "normal_0_1": {"prior": [{"prior": "normal(0, 1)", "class": "b"}]}},
                 "herds": {"all": {}, "without_herd_1": {"filter": "herd != 1"}}},
    }


def brms_rows(out: Path) -> pd.DataFrame:
    df = pd.read_csv(out / "cells.csv")
    return (df[(df["engine"] == "brms") & (df["effect"] == "fixed")]
            .sort_values(["cell", "term"]).reset_index(drop=True))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sens-local")
    result = pybrms.sensitivity(grid_table(), out, workers=2, quiet=True)
    return out, result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and N single-threaded workers on loopback, as a user would start them."""

    def __init__(self, log_dir: Path, n: int = 2) -> None:
        bindir = Path(sys.executable).parent
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        env = dict(os.environ)
        self.log_dir = log_dir
        self.scheduler = subprocess.Popen(
            [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
            stderr=open(log_dir / "scheduler.log", "w"))  # noqa: SIM115
        self.workers = [
            subprocess.Popen(
                [str(bindir / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL,
                stderr=open(log_dir / f"worker{i}.log", "w"))  # noqa: SIM115
            for i in range(n)]
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


def test_local_cluster_runs_the_grid_with_one_program(local_run):
    out, result = local_run
    assert result.workers == 2
    # 4 brms fits and 2 lme4 fits: lme4 takes no priors, so the two prior cells of each herd
    # option share one lme4 fit (records: still one per cell and engine)
    assert not result.failed and len(result.fitted) == 6 and len(result.records) == 8
    assert sorted(result.shared) == ["normal_0_1__all__lme4", "normal_0_1__without_herd_1__lme4"]
    assert len(result.programs) == 1  # two priors, two datasets: one Stan program
    # ...compiled by at most one task (the first of its structure; none with a warm cache)
    assert sum(bool(r.get("compiled")) for r in result.records.values()) <= 1
    df = pd.read_csv(out / "cells.csv")
    assert set(df.columns) >= {"cell", "prior", "herds", "engine", "term", "estimate",
                               "std_error", "conf_low", "conf_high", "p_value", "post_prob",
                               "converged"}
    for cell, want in (("normal_0_5__all", GLMER_PERIOD),
                       ("normal_0_1__without_herd_1", GLMER_NO_HERD_1)):
        lme4 = df[(df["engine"] == "lme4") & (df["cell"] == cell)].set_index("term")
        for term, value in want.items():
            assert lme4.loc[term, "estimate"] == pytest.approx(value, abs=2e-5)
    b = brms_rows(out).set_index(["cell", "term"])["estimate"]
    # brms beside lme4 under the wide prior; the tight prior pulls towards 0
    assert b["normal_0_5__all", "periodP2"] == pytest.approx(GLMER_PERIOD["periodP2"], abs=0.25)
    assert abs(b["normal_0_1__all", "periodP4"]) < abs(b["normal_0_5__all", "periodP4"]) - 0.1
    summary = (out / "summary.md").read_text()
    assert "1 Stan program(s) for 4 brms cell(s)" in summary
    assert "prior constants passed as data (stanvars)" in summary
    for name in ("specification_curve.png", "specification_curve.pdf", "summary.html",
                 "summary.tex"):
        assert (out / name).stat().st_size > 1000
    ps = {r["term"]: r for r in result.records["normal_0_1__all__brms"]["power_scaling"]}
    wide = {r["term"]: r for r in result.records["normal_0_5__all__brms"]["power_scaling"]}
    assert ps["periodP4"]["prior"] > 0.05 > wide["periodP4"]["prior"]
    workers = {r["worker"] for r in result.records.values()}
    assert len(workers) == 2  # both workers took tasks


def test_scheduler_and_hand_started_workers_give_identical_brms_draws(local_run, cluster,
                                                                       tmp_path):
    out = tmp_path / "sens-cluster"
    result = pybrms.sensitivity(grid_table(), out, scheduler=cluster.address, quiet=True)
    assert not result.failed and len(result.fitted) == 6  # 2 lme4 fits serve 4 cells
    assert result.compiled == []  # the program came from the shared cache
    pd.testing.assert_frame_equal(brms_rows(out), brms_rows(local_run[0]))


def test_killed_worker_loses_nothing_and_rerun_resumes(local_run, cluster, tmp_path):
    out = tmp_path / "sens-kill"
    cells = out / "cells"
    done: dict = {}

    def run() -> None:
        done["result"] = pybrms.sensitivity(grid_table(), out, scheduler=cluster.address,
                                            quiet=True)

    from distributed import Client

    victim = cluster.workers[0]
    t = threading.Thread(target=run)
    with Client(cluster.address, timeout=60) as client:
        addr = next(a for a, pid in client.run(os.getpid).items() if pid == victim.pid)
        t.start()
        deadline = time.monotonic() + 300
        # kill the worker while it holds a task and after some task has been checkpointed
        while time.monotonic() < deadline:
            busy = client.processing(workers=[addr]).get(addr)
            if busy and cells.exists() and list(cells.glob("*.json")):
                break
            time.sleep(0.05)
        first = {p.name: p.read_bytes() for p in cells.glob("*.json")}
        victim.kill()
        victim.wait(timeout=30)
    assert first, "no task finished within 5 minutes"
    assert busy, "the victim held no task when it was killed"
    t.join(timeout=600)
    assert not t.is_alive()
    result = done["result"]
    assert not result.failed and len(result.records) == 8
    assert len(first) < 6  # the kill came while fits were left (6 fits for 8 tasks)
    for name, content in first.items():
        assert (cells / name).read_bytes() == content  # nothing finished was redone or lost
    pd.testing.assert_frame_equal(brms_rows(out), brms_rows(local_run[0]))
    again = pybrms.sensitivity(grid_table(), out, quiet=True)  # in-process: no fit needed
    assert again.fitted == [] and len(again.resumed) == 6
    assert parse_grid(grid_table()).cells()[0].id == "normal_0_5__all"
