"""Grid files: parsing, cells, exclusions, prior constants as data, transforms, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pybrms.errors import DataError, SpecError
from pybrms.runs.cluster import dask_client
from pybrms.sensitivity import load_grid, parse_grid
from pybrms.sensitivity.priors import expand_classes, literal, to_priors
from pybrms.sensitivity.report import agreement, variance_by_axis
from pybrms.sensitivity.runner import build_tasks
from pybrms.sensitivity.transforms import apply_transforms

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grids"
#: the grid's data as a frame: a CSV path is read by R's read.csv (the tests marked r)
CBPP = pd.read_csv(EXAMPLE / "cbpp.csv")


def table(**over):
    base = {"data": CBPP, "formula": "incidence | trials(size) ~ period + (1 | herd)",
            "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
            "engines": ["lme4"], "focus": ["periodP2"]}
    t = {"base": base,
         "axes": {"prior": {"wide": {}, "tight": {"prior": [{"prior": "normal(0, 1)",
                                                              "class": "b"}]}},
                  "herds": {"all": {}, "no_1": {"filter": "herd != 1"}}}}
    t.update(over)
    return t


def test_cells_are_the_product_minus_exclusions():
    g = parse_grid(table(exclude=[{"prior": "tight", "herds": "no_1"}]), root=EXAMPLE)
    cells = g.cells()
    assert [c.id for c in cells] == ["wide__all", "wide__no_1", "tight__all"]
    assert cells[2].settings["prior"] == [{"prior": "normal(0, 1)", "class": "b"}]
    assert cells[1].settings["filter"] == ["herd != 1"]
    assert cells[0].choices == {"prior": "wide", "herds": "all"}
    star = parse_grid(table(), root=EXAMPLE).cells(design="one_at_a_time")
    assert [c.id for c in star] == ["wide__all", "wide__no_1", "tight__all"]


def test_tasks_are_checked_and_filtered(tmp_path):
    g = parse_grid(table(), root=EXAMPLE)
    tasks = build_tasks(g, g.cells(), tmp_path)
    assert [t.name for t in tasks] == ["wide__all__lme4", "wide__no_1__lme4",
                                            "tight__all__lme4", "tight__no_1__lme4"]
    assert [len(t.data) for t in tasks] == [56, 52, 56, 52]
    assert (tasks[1].data["herd"] != 1).all()
    # lme4 takes no prior: the two prior options give the same fit, hence the same key
    assert tasks[0].key == tasks[2].key and tasks[0].key != tasks[1].key


@pytest.mark.parametrize("mutate, error, words", [
    (lambda t: t["axes"]["prior"]["tight"].update(bogus=1), SpecError,
     ["[axes.prior.tight]", "'bogus'", "known fields"]),
    (lambda t: t["base"].update(colour="red"), SpecError, ["[base]", "'colour'"]),
    (lambda t: t["axes"]["herds"]["no_1"].update(filter="barn != 1"), SpecError,
     ["cell wide__no_1", "column 'barn' is not in the data"]),
    (lambda t: t["axes"]["herds"]["no_1"].update(transform=["z = log(weight)"]), SpecError,
     ["transform 'z = log(weight)'", "'weight'"]),
    (lambda t: t["axes"]["herds"]["no_1"].update(
        formula="incidence | trials(size) ~ period + season + (1 | herd)"), DataError,
     ["season"]),
    (lambda t: t.update(exclude=[{"prior": "wide"}, {"prior": "tight"}]), SpecError,
     ["no cell left"]),
    (lambda t: t.update(exclude=[{"priors": "wide"}]), SpecError, ["unknown axis 'priors'"]),
    (lambda t: t.update(exclude=[{"prior": "medium"}]), SpecError, ["no option 'medium'"]),
    (lambda t: t["base"].update(engines=["brms", "spss"]), Exception, ["spss"]),
    (lambda t: t["axes"]["prior"]["tight"].update(prior=[{"prior": "normal(0, -1)"}]),
     SpecError, ["normal(0, -1)", "must be > 0"]),
])
def test_bad_input_is_a_clear_error_before_fitting(tmp_path, mutate, error, words):
    t = table()
    mutate(t)
    with pytest.raises(error) as info:
        g = parse_grid(t, root=EXAMPLE)
        build_tasks(g, g.cells(), tmp_path)
    for w in words:
        assert w in str(info.value)
    assert not (tmp_path / "cells").exists()


def test_two_axes_setting_one_field_differently_is_an_error():
    t = table()
    t["axes"]["herds"]["no_1"]["prior"] = [{"prior": "normal(0, 2)", "class": "b"}]
    with pytest.raises(SpecError, match="both set 'prior'"):
        parse_grid(t, root=EXAMPLE).cells()


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    from pybrms.runs import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    with pytest.raises(SpecError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        with dask_client(scheduler="tcp://127.0.0.1:9"):
            pass
    with pytest.raises(SpecError, match="not both"):
        with dask_client(workers=2, scheduler="tcp://127.0.0.1:9"):
            pass


@pytest.mark.r  # the grid's CSV is read by R's read.csv
def test_unreachable_scheduler_stops_a_run_before_anything_is_written(tmp_path, monkeypatch):
    import pybrms
    from pybrms.runs import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    grid = load_grid(EXAMPLE / "cbpp.toml")
    grid.base["engines"] = ["lme4"]  # lme4's checks need no R (brms's build step does)
    with pytest.raises(SpecError, match="cannot reach the Dask scheduler"):
        pybrms.sensitivity(grid, tmp_path / "out", scheduler="tcp://127.0.0.1:9", quiet=True)
    assert not (tmp_path / "out").exists()


def test_prior_constants_become_named_data():
    a, sv_a = to_priors([{"prior": "normal(0, 10)", "class": "b"},
                         {"prior": "student_t(3, 0, 2.5)", "class": "sd"}], as_data=True)
    b, sv_b = to_priors([{"prior": "normal(1, 0.5)", "class": "b"},
                         {"prior": "student_t(3, 0, 1)", "class": "sd"}], as_data=True)
    assert [p.prior for p in a] == [p.prior for p in b] == [
        "normal(sv_b_1, sv_b_2)", "student_t(sv_sd_1, sv_sd_2, sv_sd_3)"]
    assert sv_a == {"sv_b_1": 0.0, "sv_b_2": 10.0, "sv_sd_1": 3.0, "sv_sd_2": 0.0, "sv_sd_3": 2.5}
    assert sv_b["sv_b_1"] == 1.0 and sv_b["sv_sd_3"] == 1.0
    assert literal(a, sv_a) == ["normal(0, 10) [b]", "student_t(3, 0, 2.5) [sd]"]
    kept, none = to_priors([{"prior": "normal(0, 10)", "class": "b"}], as_data=False)
    assert kept[0].prior == "normal(0, 10)" and none == {}


def test_prior_classes_copy_the_b_prior():
    out = expand_classes([{"prior": "normal(0, 1e6)", "class": "b"}], ["b", "Intercept", "sd"])
    assert [(p["prior"], p["class"]) for p in out] == [
        ("normal(0, 1e6)", "b"), ("normal(0, 1e6)", "Intercept"), ("normal(0, 1e6)", "sd")]
    with pytest.raises(SpecError, match="no prior on class 'b'"):
        expand_classes([], ["b", "Intercept"])


def test_transforms_assign_filter_and_call():
    df = pd.DataFrame({"y": [1.0, 10.0, 100.0], "g": [1, 2, 3]})
    out = apply_transforms(df, ["ly = log10(y)"], ["g != 2"], "cell x")
    assert out["ly"].tolist() == [0.0, 2.0] and out["g"].tolist() == [1, 3]
    out = apply_transforms(df, ["pandas:DataFrame"], [], "cell x")
    assert out.equals(df)
    with pytest.raises(SpecError, match="neither an assignment"):
        apply_transforms(df, ["y > 1"], [], "cell x")
    with pytest.raises(SpecError, match="leaves no rows"):
        apply_transforms(df, [], ["y > 1000"], "cell x")


def test_variance_shares_and_agreement():
    rows = []
    for a, da in (("a1", 0.0), ("a2", 1.0)):
        for b, db in (("b1", 0.0), ("b2", 0.1)):
            for engine, de in (("brms", 0.0), ("lme4", 0.01)):
                est = 1 + da + db + de
                rows.append({"cell": f"{a}_{b}", "A": a, "B": b, "engine": engine,
                             "effect": "fixed", "term": "x", "estimate": est, "std_error": 0.1,
                             "conf_low": est - 0.2, "conf_high": est + 0.2})
    df = pd.DataFrame(rows)
    v = variance_by_axis(df, ["x"], ["A", "B"]).set_index("engine")
    # additive effects 1 and 0.1: shares 1/1.01 and 0.01/1.01, nothing left over
    assert v.loc["brms", "A"] == pytest.approx(1 / 1.01)
    assert v.loc["brms", "B"] == pytest.approx(0.01 / 1.01)
    assert v.loc["brms", "residual"] == pytest.approx(0.0, abs=1e-12)
    ag = agreement(df, ["x"])
    assert len(ag) == 4 and ag["same sign"].all()
    assert np.allclose(ag["difference / SE"], -0.1)


def test_a_missing_or_broken_grid_file_is_named(tmp_path):
    with pytest.raises(SpecError, match=r"grid file '.*nope\.toml' does not exist"):
        load_grid(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[base\nformula = 'y ~ x'\n")
    with pytest.raises(SpecError, match=r"grid file '.*bad\.toml' is not valid TOML: "):
        load_grid(bad)
