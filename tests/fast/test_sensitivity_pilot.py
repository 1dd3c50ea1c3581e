"""The pilot gate of inexact engines in a grid (no R: the pilot itself is replaced here; the
slow tier runs it for real): one pilot per model structure with brms's form of the priors,
the fast engine's cells fitted with the numbers themselves, and a disagreeing pilot refusing
that structure's fast cells (stopping the run, or failing them with ``keep_going``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.errors import EngineError
from pybrms.sensitivity import parse_grid, pilot
from pybrms.sensitivity.runner import _pilot_structure, build_tasks

pytest.importorskip("pymc")
pytest.importorskip("nutpie")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grids"
#: the grid's data as a frame: a CSV path would be read by R's read.csv (tests/r covers that)
CBPP = pd.read_csv(EXAMPLE / "cbpp.csv")


def cbpp_grid(engines):
    return {"base": {"data": CBPP, "formula": "incidence | trials(size) ~ period + (1 | herd)",
                     "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                     "engines": engines, "focus": ["periodP2"], "seed": 3},
            "axes": {"prior": {"wide": {}, "tight": {"prior": [{"prior": "normal(0, 1)",
                                                                 "class": "b"}]}},
                     "herds": {"all": {}, "no_1": {"filter": "herd != 1"}}}}


def test_fast_cells_take_numbers_and_share_one_pilot(tmp_path):
    g = parse_grid(cbpp_grid(["fast", "brms"]), root=EXAMPLE)
    tasks = build_tasks(g, g.cells(), tmp_path)
    fast = [t for t in tasks if t.engine == "fast"]
    brms = [t for t in tasks if t.engine == "brms"]
    assert [p.prior for p in fast[0].priors] == ["normal(0, 5)"] and not fast[0].stanvars
    assert [p.prior for p in fast[2].priors] == ["normal(0, 1)"]
    assert brms[0].priors[0].prior == "normal(sv_b_1, sv_b_2)"
    assert brms[0].stanvars == {"sv_b_1": 0.0, "sv_b_2": 5.0}
    plans = pilot.plan_pilots(tasks, tmp_path, _pilot_structure)
    # the four fast cells differ in prior constants and rows only: one structure, one pilot
    assert len(plans) == 1
    (p,) = plans
    assert p.candidate.cell == fast[0].cell and p.candidate.engine == "fast"
    assert p.reference.engine == "brms" and p.reference.stanvars == brms[0].stanvars
    assert [q.prior for q in p.reference.priors] == ["normal(sv_b_1, sv_b_2)"]
    for opts in (p.candidate.options, p.reference.options):
        assert {k: opts[k] for k in pilot.PILOT} == pilot.PILOT and opts["seed"] == 3
    assert p.path.endswith("__fast.json") and "pilot" in p.path


def _gaussian_grid(tmp_path):
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(12), 10)
    df = pd.DataFrame({"g": g, "x": rng.normal(size=120)})
    df["y"] = 1.0 + 0.5 * df["x"] + rng.normal(0, 0.7, 12)[g] + rng.normal(size=120)
    return {"base": {"data": df, "formula": "y ~ x + (1 | g)",
                     "family": "gaussian", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                     "engines": ["fast", "statsmodels"], "focus": ["x"]},
            "axes": {"prior": {"wide": {}, "tight": {"prior": [{"prior": "normal(0, 1)",
                                                                 "class": "b"}]}}}}


def _disagreeing(plan, *args, **kwargs):
    return {"key": plan.key, "structure": plan.structure, "cell": plan.candidate.cell,
            "engine": plan.candidate.engine, "reference": "brms", "formula":
            plan.candidate.formula, "family": plan.candidate.family, "settings": pilot.PILOT,
            "ok": False, "verdict": "disagree: 1 of 4 parameters outside tolerance",
            "max_abs_z": 6.1, "parameters": 4, "table": [], "seconds": {"total": 1.0}}


def _no_brms_build(monkeypatch):
    """The fast engine's preflight is brms's build step (R, tests/r): not this test's subject."""
    import pybrms.engines.fast as fast_engine

    monkeypatch.setattr(fast_engine, "preflight", lambda spec, opts=None: None)


def test_a_disagreeing_pilot_stops_the_run_before_any_fit(tmp_path, monkeypatch):
    _no_brms_build(monkeypatch)
    monkeypatch.setattr(pilot, "run_pilot", _disagreeing)
    out = tmp_path / "out"
    with pytest.raises(EngineError, match=r"pilot check of engine fast against brms on cell "
                                          r"wide disagreed \(disagree: 1 of 4"):
        pybrms.sensitivity(_gaussian_grid(tmp_path), out, quiet=True)
    fitted = list((out / "cells").glob("*.json")) if (out / "cells").exists() else []
    assert fitted == []


def test_keep_going_fails_the_fast_cells_and_fits_the_rest(tmp_path, monkeypatch):
    _no_brms_build(monkeypatch)
    monkeypatch.setattr(pilot, "run_pilot", _disagreeing)
    out = tmp_path / "out"
    result = pybrms.sensitivity(_gaussian_grid(tmp_path), out, quiet=True, keep_going=True)
    assert sorted(result.failed) == ["tight__fast", "wide__fast"]
    assert all("pilot check of engine fast" in m for m in result.failed.values())
    # statsmodels takes no priors: its two cells (which differ only in priors) are one fit
    assert sorted(result.fitted) == ["wide__statsmodels"]
    assert result.shared == {"tight__statsmodels": "wide__statsmodels"}
    run = json.loads((out / "run.json").read_text())
    assert run["pilot_checks"] is True
    assert [(p["engine"], p["cell"], p["ok"]) for p in run["pilots"]] == [("fast", "wide", False)]
    assert run["cells_by_engine"] == {"fast": [], "statsmodels": ["tight", "wide"]}
    summary = (out / "summary.md").read_text()
    assert "## Pilot checks of inexact engines against brms" in summary
    assert "disagree: 1 of 4 parameters outside tolerance" in summary
    assert "pilot check of engine fast against brms" in summary  # the FAILED section


def test_pilot_off_is_recorded(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(pilot, "run_pilot", lambda p, *a, **k: called.append(p))
    grid = _gaussian_grid(tmp_path)
    grid["base"]["engines"] = ["statsmodels"]
    out = tmp_path / "out"
    pybrms.sensitivity(grid, out, quiet=True, pilot=False)
    run = json.loads((out / "run.json").read_text())
    assert run["pilot_checks"] is False and run["pilots"] == [] and not called
    assert "Pilot checks were OFF in this run." in (out / "summary.md").read_text()
