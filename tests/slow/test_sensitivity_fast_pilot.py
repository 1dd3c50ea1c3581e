"""The fast engine in a grid on Dask, for real: its pilot check against brms runs on a worker
(brms's program is the cbpp grid's, shared with test_sensitivity_dask.py through the compile
cache), agrees, and the fast cells fan out; a rerun takes the pilot and the cells from their
checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import pybrms

pytestmark = pytest.mark.slow
pytest.importorskip("nutpie")

CBPP = Path(__file__).resolve().parents[2] / "examples" / "grids" / "cbpp.csv"


def grid():
    return {"base": {"data": str(CBPP), "formula": "incidence | trials(size) ~ period + (1 | herd)",
                     "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                     "chains": 2, "iter": 600, "warmup": 300, "seed": 7,
                     "engines": ["fast"], "focus": ["periodP2", "periodP4"]},
            "axes": {"prior": {"normal_0_5": {},
                               "normal_0_1": {"prior": [{"prior": "normal(0, 1)", "class": "b"}]}}}}


def test_fast_cells_run_after_an_agreeing_pilot_and_resume(tmp_path):
    out = tmp_path / "grid"
    result = pybrms.sensitivity(grid(), out, workers=2, quiet=True)
    assert not result.failed and sorted(result.fitted) == ["normal_0_1__fast",
                                                           "normal_0_5__fast"]
    (rec,) = result.pilots.values()
    assert rec["ok"] and rec["verdict"].startswith("agree")
    assert rec["cell"] == "normal_0_5" and rec["engine"] == "fast"
    table = pd.DataFrame(rec["table"])
    # b_Intercept, three period slopes, sd_herd__Intercept: fast vs brms within 3 MCSEs
    assert {"b_periodP2", "b_periodP4", "sd_herd__Intercept"} <= set(table["parameter"])
    assert table["z"].abs().max() < 3.0
    (path,) = (out / "pilot").glob("*__fast.json")
    stamp = path.stat().st_mtime_ns
    run = json.loads((out / "run.json").read_text())
    assert run["cells_by_engine"] == {"fast": ["normal_0_1", "normal_0_5"]}
    # the fast cells' own estimates: the tighter prior pulls every slope towards 0
    cells = pd.read_csv(out / "cells.csv")
    fixed = cells[(cells["effect"] == "fixed") & (cells["term"] == "periodP4")]
    est = fixed.set_index("cell")["estimate"]
    assert -1.9 < est["normal_0_5"] < est["normal_0_1"] < -0.9

    again = pybrms.sensitivity(grid(), out, quiet=True)  # in-process: nothing to fit
    assert again.fitted == [] and sorted(again.resumed) == ["normal_0_1__fast",
                                                            "normal_0_5__fast"]
    assert path.stat().st_mtime_ns == stamp
    assert next(iter(again.pilots.values()))["key"] == rec["key"]
