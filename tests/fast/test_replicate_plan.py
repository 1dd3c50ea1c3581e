"""The replicate plan, checkpoints and progress display (no R)."""

import io
import json

import pandas as pd
import pytest

from pybrms.errors import SpecError
from pybrms.papers.kyrychenko2025.replicate.plan import QUICK, build_plan
from pybrms.papers.kyrychenko2025.replicate.runner import unit_task
from pybrms.runs.checkpoint import CheckpointStore
from pybrms.runs.progress import Progress, format_seconds


def test_full_plan_merges_identical_fits_and_orders_brms_first():
    plan = build_plan()
    names = [u.name for u in plan.units]
    assert len(names) == len(set(names))
    brms = plan.units_for("brms")
    # 4 (1a) + 4 (1b) + 1 (interaction) + 1 (2) + 7 (3) + supplement's 2 LOO-without + 2 robust
    # (loo_1a_with_llm and loo_1b_with_llm are the same fits as 1a_all and 1b_all)
    assert len(brms) == 21
    assert len(plan.models) == 23
    unit = plan.unit_of("loo_1a_with_llm", "brms")
    assert unit.model.name == "1a_all" and unit.needs_loo
    assert not plan.unit_of("1a_unguided", "brms").needs_loo
    assert not plan.unit_of("loo_1a_with_llm", "lme4").needs_loo  # LOO is a brms quantity
    assert names.index("1a_all__brms") < names.index("1a_all__lme4")
    assert plan.frame_options == {"reasoning_nuance": "product", "ties": "all"}
    assert plan.deviations == []


def test_quick_shortens_chains_and_says_so():
    plan = build_plan(["1b"], quick=True)
    m = plan.units[0].model
    assert (m.chains, m.warmup, m.draws) == (QUICK["chains"], QUICK["warmup"], QUICK["draws"])
    assert any("--quick" in d and "1000 draws" in d for d in plan.deviations)


def test_overrides_and_filters_are_deviations():
    plan = build_plan(["1a"], ["brms"], convo_types=["all"], reasoning_nuance="mean", ties="first")
    assert [u.name for u in plan.units] == ["1a_all__brms"]
    assert plan.frame_options == {"reasoning_nuance": "mean", "ties": "first"}
    text = " ".join(plan.deviations)
    assert "'mean' instead of the specs' choice 'product'" in text
    assert "'first' instead of the specs' choice 'all'" in text
    assert "only conversation types all" in text


def test_aliases_and_comma_lists():
    plan = build_plan("interaction,1b", "brms,lme4")
    assert set(plan.analyses) == {"1b", "interaction_toxicity"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"analyses": ["1c"]}, "--analyses: unknown analysis '1c'"),
    ({"engines": ["stan"]}, "--engines: unknown engine 'stan'"),
    ({"engines": ["lme4"]}, "must include brms"),
    ({"analyses": ["1a"], "convo_types": ["guided"]}, "unknown conversation type 'guided'"),
    ({"analyses": ["2"], "convo_types": ["unguided"]}, "no model"),
])
def test_bad_choices_name_the_option(kwargs, match):
    with pytest.raises(SpecError, match=match):
        build_plan(**kwargs)


def test_unit_key_tracks_settings_and_data():
    a = build_plan(["1a"], ["brms"], convo_types=["all"]).units[0]
    b = build_plan(["1a"], ["brms"], convo_types=["all"], quick=True).units[0]
    assert a.key("d1") == a.key("d1")
    assert a.key("d1") != a.key("d2")
    assert a.key("d1") != b.key("d1")


def test_checkpoint_round_trip_with_infinities(tmp_path):
    unit = build_plan(["1a"], ["brms", "lme4"], convo_types=["all"]).units[0]
    task = unit_task(unit, pd.DataFrame({"y": [1]}), cores=1)
    assert task.native  # brms saves its brmsfit beside the record
    store = CheckpointStore(tmp_path / "fits")
    record = {"key": "k1", "hypotheses": [{"Evid.Ratio": float("inf"), "x": float("nan")}]}
    store.save(task.name, record)
    text = store.record_path(task.name).read_text()
    json.loads(text)  # strict JSON: no bare Infinity/NaN
    assert store.load(task.name, "k1", task.native) is None  # a brms record needs its fit
    store.fit_path(task.name).write_bytes(b"rds")
    got = store.load(task.name, "k1", task.native)
    assert got["hypotheses"][0]["Evid.Ratio"] == float("inf")
    assert got["hypotheses"][0]["x"] != got["hypotheses"][0]["x"]  # nan
    assert store.load(task.name, "other", task.native) is None
    assert store.stale(task.name, "other", task.native)
    store.record_path(task.name).write_text("{truncated")
    assert store.load(task.name, "k1", task.native) is None
    assert not list((tmp_path / "fits").glob("*.tmp*"))


def test_progress_reports_chains_and_an_eta():
    plan = build_plan(["1a"], ["brms", "lme4"], convo_types=["all", "unguided"], quick=True)
    rows = pd.DataFrame({"y": range(100)})
    units = [unit_task(u, rows, cores=1) for u in plan.units]
    stream = io.StringIO()
    p = Progress(units, stream=stream)
    first, second = units[0], units[1]
    p.resumed(first)  # a checkpoint without a fit time gives no pace
    p.start(second)
    assert "ETA unknown" in p.lines[-1]
    p.finish(second, 10.0)
    assert p.lines[-1].startswith("[2/4] 1a_all · lme4 · done in 0:00:10")
    third = units[2]
    p.start(third)
    assert "ETA 0:00:10 + the brms tasks (pace unknown" in p.lines[-1]  # the lme4 unit left: 10 s
    assert "[3/4] 1a_unguided · brms" in p.lines[-1]
    # 2 of 4 chains at 20%: 10% of the unit; a repeated line says nothing new
    p.console("Chain 2: Iteration: 100 / 500 [ 20%]  (Warmup)\n"
              "Chain 1: Iteration: 100 / 500 [ 20%]  (Warmup)")
    p.console("Chain 2: Iteration: 100 / 500 [ 20%]  (Warmup)")
    assert [line for line in p.lines if "· chains " in line] == [p.lines[-1]]
    assert "chains 1:20% 2:20% (warmup) · 10% in 0:00:" in p.lines[-1]
    # before any brms unit has finished, its ETA comes from the running unit's own pace:
    # 10% in 30 s leaves 270 s of this unit; the lme4 unit left costs 100 rows at 0.1 s a row
    p.started -= 30
    assert 279 < p.eta_seconds() < 282
    p.spent.pop("lme4")  # as if the lme4 unit had not run: its pace is unknown, brms's is not
    p.remaining[units[1].name] = 100.0
    assert p.eta_seconds() is None
    assert "ETA 0:04:3" in p._eta() and "+ the lme4 tasks (pace unknown" in p._eta()
    p.spent["lme4"] = [10.0, 100.0]
    p.remaining.pop(units[1].name)
    p.console("Chain 1: Iteration: 150 / 500 [ 30%]  (Warmup)")  # 12.5%: the same 5% step
    assert len([line for line in p.lines if "· chains " in line]) == 1
    p.console("Chain 3: Iteration: 500 / 500 [100%]  (Sampling)")  # 37.5%: a new step
    assert "chains 1:30% 2:20% 3:100% (sampling) · 38% in 0:00:3" in p.lines[-1]
    assert stream.getvalue().count("\n") == len(p.lines)
    assert format_seconds(3725) == "1:02:05"
    # a resumed checkpoint's fit time sets its engine's pace: the same-cost brms unit left
    # is expected to take as long (40 s), the lme4 unit left 5 s
    q = Progress(units, stream=io.StringIO())
    q.resumed(units[0], 40.0)
    q.resumed(units[1], 5.0)
    assert q.eta_seconds() == 45.0


def test_cli_dry_run_and_bad_arguments(capsys):
    """(``--demo --dry-run``, which now runs brms's build step, is in tests/r.)"""
    from pybrms.cli import main

    assert main(["replicate", "--dry-run"]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["replicate", "--demo", "--data", "x", "--dry-run"]) == 2
    assert "drop --data" in capsys.readouterr().err
    assert main(["replicate", "--data", "x", "--analyses", "1a,9", "--dry-run"]) == 2
    assert "unknown analysis '9'" in capsys.readouterr().err
    # the plan is listed, then the missing data stop the dry run (exit 2) before any fit
    assert main(["replicate", "--data", "x", "--analyses", "1a,supplement", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert "1a_all__brms  (4 x 1000 draws)  also reported as loo_1a_with_llm" in captured.out
    assert "--data: data folder 'x' does not exist" in captured.err
    assert main(["replicate", "--data", "/nonexistent", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert "42 fits;" in captured.out
    assert "pybrms: error: --data: data folder '/nonexistent' does not exist" in captured.err
