"""``pybrms replicate --workers 2``: the same records, bit for bit, as the run in one process.

Analysis 1b on the bundled demo data (its Stan program is the one tests/slow/test_replicate.py
compiles, so in a full slow-tier session it comes from the shared cache).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

CMD = [sys.executable, "-m", "pybrms.cli", "replicate", "--demo", "--analyses", "1b"]


def _run(out, *extra):
    proc = subprocess.run([*CMD, "--out", str(out), *extra], capture_output=True, text=True,
                          timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_replicate_on_two_dask_workers_equals_the_one_process_run(tmp_path):
    local = _run(tmp_path / "local", "--quiet")
    dask = _run(tmp_path / "dask", "--workers", "2")
    assert "2 task(s) on 2 Dask worker(s)" in dask.stderr
    assert "fits: 2 fitted, 0 resumed" in dask.stdout and "fits: 2 fitted" in local.stdout
    records = {}
    for unit in ("1b_all__brms", "1b_all__lme4"):
        records[unit] = [json.loads((tmp_path / run / "fits" / f"{unit}.json").read_text())
                         for run in ("local", "dask")]
    a, b = records["1b_all__brms"]
    assert a["tidy"] == b["tidy"] and a["hypotheses"] == b["hypotheses"]  # same draws
    # lme4's optimiser ends a hair apart from one R process to the next (as in Rscript)
    a, b = (pd.DataFrame(r["tidy"]) for r in records["1b_all__lme4"])
    assert list(a["term"]) == list(b["term"])
    assert b["estimate"].to_numpy() == pytest.approx(a["estimate"].to_numpy(), rel=1e-5, abs=1e-7)
    assert (tmp_path / "dask" / "fits" / "1b_all__brms.fit.rds").exists()
    t_local = pd.read_csv(tmp_path / "local" / "tables" / "table2.csv")
    t_dask = pd.read_csv(tmp_path / "dask" / "tables" / "table2.csv")
    pd.testing.assert_frame_equal(t_local, t_dask)  # Table 2 is brms's
    again = _run(tmp_path / "dask", "--workers", "2")
    assert "fits: 0 fitted, 2 resumed" in again.stdout
