"""The run engine under faults: 200 small fits (brms, lme4, statsmodels) on 2 Dask workers with a
task that hangs, one whose R aborts, one that kills its worker and one that raises, three
times over.

Every other task finishes with the numbers of the same task run in this process (brms and
statsmodels bit for bit; lme4 to 1e-8 relative: a fresh R's optimiser may end a hair apart); the
faulty ones are reported with their reasons; nothing finished is lost or fitted twice; and once
the faults are gone a rerun fits exactly the failed ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from pybrms.runs import engine as run_engine
from pybrms.runs.cluster import dask_client
from pybrms.runs.limits import Limits
from pybrms.runs.progress import Progress
from tests.support import stress

pytestmark = pytest.mark.slow

N = 200
FAULTY = {f"t{i:03d}__{stress.engine(i)}" for i in stress.FAULTS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Every task without faults, in this process (no R host, no Dask)."""
    folder = tmp_path_factory.mktemp("stress-here") / "cells"
    out = run_engine.run(stress.tasks(N), folder, limits=Limits(isolate=False))
    assert not out.failed and len(out.fitted) == N
    return stress.estimates(out.records)


def _compare(records, reference):
    got = stress.estimates(records)
    for name, rows in got.items():
        ref = reference[name]
        assert [r[0] for r in rows] == [r[0] for r in ref], name
        if name.endswith("__lme4"):
            for (_t, e, s), (_u, e0, s0) in zip(rows, ref, strict=True):
                assert e == pytest.approx(e0, rel=1e-8, abs=1e-12, nan_ok=True), name
                assert s == pytest.approx(s0, rel=1e-8, abs=1e-12, nan_ok=True), name
        else:  # same draws, same statsmodels optimum (NaN where statsmodels gives no SE)
            assert len(rows) == len(ref), name
            for got_row, ref_row in zip(rows, ref, strict=True):
                assert got_row[0] == ref_row[0], name
                assert np.array_equal(got_row[1:], ref_row[1:], equal_nan=True), (name, got_row)


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_two_workers_survive_every_fault(attempt, reference, tmp_path):
    marker = tmp_path / "faults-on"
    marker.write_text("")
    tasks = stress.tasks(N, marker=str(marker))
    folder = tmp_path / "out" / "cells"
    limits = Limits(timeout=120, retries=1)
    with dask_client(workers=2, worker_deaths=limits.retries) as client:
        progress = Progress(tasks, enabled=False, workers=2)
        out = run_engine.run(tasks, folder, client=client, progress=progress, keep_going=True,
                             limits=limits)
    assert set(out.failed) == FAULTY, out.failed
    reasons = {n.split("__")[0]: m for n, m in out.failed.items()}
    assert reasons["t003"].startswith(f"TaskTimeout: timed out after {stress.HANG_LIMIT:g} s on ")
    assert "gave up after 2 attempts" in reasons["t003"]
    assert "killed by SIGABRT" in reasons["t005"]
    assert reasons["t007"].startswith("TaskCrashed: the Dask workers running it died")
    assert reasons["t009"] == "EngineError: a failure made by the test"
    assert len(out.fitted) == N - len(FAULTY) and not out.resumed
    assert out.compiled in ([], [out.programs[0]])  # one program at most, compiled once
    _compare(out.records, reference)
    finished = {n: r["finished_at"] for n, r in out.records.items()}
    for name in finished:  # nothing finished is lost: every record is on disk
        assert (folder / f"{name}.json").exists()
    if attempt == 3:
        marker.unlink()
        with dask_client(workers=2) as client:
            again = run_engine.run(tasks, folder, client=client, keep_going=True, limits=limits)
        assert sorted(again.fitted) == sorted(FAULTY) and not again.failed
        assert len(again.resumed) == N - len(FAULTY)
        assert all(again.records[n]["finished_at"] == t for n, t in finished.items())
        _compare({n: again.records[n] for n in FAULTY}, reference)
