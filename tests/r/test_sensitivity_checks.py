"""Bad input refused by brms's build step and Stan's parser (no C++ compile), before any fit;
the cbpp example grid's lme4 side fitted once per distinct model.

Every malformed prior here passed pybrms's and brms's checks before and was refused only by
the C++ compile, as a parser dump; now rstan's ``stanc()`` reads the program brms writes as
part of the build step (about 60 ms; see ``pybrms/engines/brms/parse.py``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

import pybrms
from pybrms.engines.brms import parse
from pybrms.errors import SpecError
from pybrms.sensitivity import load_grid
from pybrms.sensitivity.curve import curve_points

pytestmark = pytest.mark.r

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grids"
CBPP = "incidence | trials(size) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def cbpp():
    return pd.read_csv(EXAMPLE / "cbpp.csv")


@pytest.mark.parametrize("text, reason", [
    ("nromal(0, 1)", "Function nromal_lpdf not found."),
    ("normal(0, )", "the parser expected <probability function argument>"),
    ("normal(a, 1)", 'Variable "a" does not exist.'),
    ("lkj(2)", "Available argument signatures for lkj_corr_cholesky_lpdf"),
])
def test_a_malformed_prior_is_refused_by_stans_parser_naming_it(cbpp, text, reason):
    with pytest.raises(SpecError) as info:
        pybrms.stancode(CBPP, cbpp, "binomial", pybrms.prior(text, class_="b"))
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"Stan's parser refuses the prior {text!r} (class b): ")
    assert reason in first and "[brms wrote line " in first
    assert "SYNTAX ERROR" not in str(info.value)  # not the parser's dump


def test_brm_refuses_it_before_any_compile(cbpp, cache_dir):
    before = sorted(p.name for p in Path(cache_dir).rglob("*"))
    with pytest.raises(SpecError, match="Stan's parser refuses the prior 'nromal"):
        pybrms.brm(CBPP, cbpp, "binomial", pybrms.prior("nromal(0, 1)"), chains=1, iter=20,
                   quiet=True)
    assert sorted(p.name for p in Path(cache_dir).rglob("*")) == before


def test_identical_programs_are_parsed_once_per_process(cbpp, monkeypatch):
    calls = []
    real = parse.bridge.call

    def counting(name, *args, **kw):
        calls.append(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(parse.bridge, "call", counting)
    code = pybrms.stancode(CBPP, cbpp, "binomial", pybrms.prior("normal(0, 3.25)"))
    assert calls.count("pybrms_stanc") == 1
    again = pybrms.stancode(CBPP, cbpp, "binomial", pybrms.prior("normal(0, 3.25)"))
    assert again == code and calls.count("pybrms_stanc") == 1  # cached by the code's hash
    assert parse.parse_program(code) is None


def test_the_brms_preflight_names_the_coefficients(cbpp):
    from pybrms.engines import get_engine, preflight
    from pybrms.spec.model import FitSpec

    brms = get_engine("brms")
    spec = FitSpec.build(CBPP, cbpp, "binomial")
    assert preflight(brms, spec) == ["Intercept", "periodP2", "periodP3", "periodP4"]
    spec = FitSpec.build("bf(incidence ~ period, sigma ~ size)", cbpp, "gaussian")
    assert preflight(brms, spec) == ["Intercept", "sigma_Intercept", "periodP2", "periodP3",
                                     "periodP4", "sigma_size"]
    # lme4 names the same coefficients from the formula and the data, in Python
    assert preflight(get_engine("lme4"), FitSpec.build(CBPP, cbpp, "binomial")) == [
        "Intercept", "periodP2", "periodP3", "periodP4"]


# ----- grids -----------------------------------------------------------------------------------
def test_cli_dry_run_checks_the_example_grid(tmp_path, capsys):
    """(Moved from tests/fast: the dry run now runs brms's build step and Stan's parser.)"""
    from pybrms.cli import main

    assert main(["sensitivity", str(EXAMPLE / "cbpp.toml"), "--out", str(tmp_path / "o"),
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    # 10 brms fits and 4 lme4 fits: lme4 takes no priors, so the 3 prior options are one model
    assert "10 cell(s), 14 fit(s) (6 cell x engine pair(s) share another's fit)" in out
    assert "normal_0_half__all__observation_level__brms  (56 rows)" in out
    assert ("normal_0_1__without_herd_1__none__lme4  = normal_0_5__without_herd_1__none__lme4 "
            "(lme4 takes no priors: one fit)") in out
    assert "once per model structure (brms 2, lme4 2;" in out
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLE / "cbpp.toml").read_text().replace(
        'filter = "herd != 1"', 'filter = "farm != 1"').replace('"cbpp.csv"',
                                                               f'"{EXAMPLE / "cbpp.csv"}"'))
    assert main(["sensitivity", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "filter 'farm != 1': column 'farm' is not in the data" in err
    assert not (tmp_path / "o").exists()


def test_pybrms_sensitivity_is_callable_before_and_after_the_import():
    """(Moved from tests/fast: the dry run now runs brms's build step and Stan's parser.)"""
    import pybrms
    import pybrms.sensitivity.grid  # noqa: F401 - the subpackage now shadows the lazy name

    assert callable(pybrms.sensitivity)
    tasks = pybrms.sensitivity(EXAMPLE / "cbpp.toml", dry_run=True)
    assert len(tasks) == 20 and sum(t.shared_with is None for t in tasks) == 14


BAD_GRID = """
[base]
data = "{data}"
formula = "incidence | trials(size) ~ period + (1 | herd)"
family = "binomial"
prior = [{{ prior = "normal(0, 5)", class = "b" }}]
engines = ["brms"]
focus = ["periodP2", "peroidP4"]
engine_options = {{ brms = {{ cores = 1, adapt_delta = 0.9 }} }}

[axes.prior.ok]
[axes.prior.typo]
prior = [{{ prior = "nromal(0, 1)", class = "b" }}]
[axes.prior.missing]
prior = [{{ prior = "normal(0, )", class = "b" }}]
[axes.prior.name]
prior = [{{ prior = "normal(a, 1)", class = "b" }}]
[axes.prior.lkj]
prior = [{{ prior = "lkj(2)", class = "b" }}]
[axes.prior.bb]
prior = [{{ prior = "normal(0, 1)", class = "bb" }}]

[axes.family.binomial]
[axes.family.binomal]
family = "binomal"
"""


def test_every_bad_input_of_a_brms_grid_is_listed_at_once(tmp_path, capsys):
    from pybrms.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(BAD_GRID.format(data=EXAMPLE / "cbpp.csv"))
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "8 problem(s) in the grid" in err
    for words in (
        "[base] engine_options (brms): engine brms has no option(s) 'adapt_delta'",
        "cell ok__binomal (also typo__binomal, missing__binomal, name__binomal and 2 more) "
        "(brms): brms refused the model: binomal is not a supported family",
        "cell typo__binomial (brms): Stan's parser refuses the prior 'nromal(0, 1)' (class b): "
        "No matches for: nromal_lpdf(vector, real, real); Function nromal_lpdf not found.",
        "cell missing__binomial (brms): Stan's parser refuses the prior 'normal(0, )' (class b)"
        ": the parser expected <probability function argument>",
        "cell name__binomial (brms): Stan's parser refuses the prior 'normal(a, 1)' (class b): "
        'Variable "a" does not exist.',
        "cell lkj__binomial (brms): Stan's parser refuses the prior 'lkj(2)' (class b): No "
        "matches for: lkj_corr_cholesky_lpdf(vector, real)",
        "cell bb__binomial (brms): brms refused the model: The following priors do not "
        "correspond to any model parameter",
        "[base] focus: focus term 'peroidP4' is not a population-level coefficient of any brms "
        "model (did you mean 'periodP4'?)",
    ):
        assert words in err, words
    assert not (tmp_path / "o").exists()
    # a run checks the same before its first fit
    with pytest.raises(SpecError, match="8 problem"):
        pybrms.sensitivity(load_grid(path), tmp_path / "o", quiet=True)
    assert not (tmp_path / "o").exists()


def test_the_lme4_side_of_the_cbpp_example_fits_each_model_once(tmp_path):
    grid = load_grid(EXAMPLE / "cbpp.toml")
    grid.base["engines"] = ["lme4"]
    out = tmp_path / "out"
    result = pybrms.sensitivity(grid, out, quiet=True, power_scaling=False)
    assert len(result.fitted) == 4 and len(result.shared) == 6
    assert len(list((out / "cells").glob("*.json"))) == 4
    cells = pd.read_csv(out / "cells.csv")
    assert cells["cell"].nunique() == 10 and cells["fit"].nunique() == 4
    fixed = cells[cells["effect"] == "fixed"]
    for term in ("periodP2", "periodP4"):
        rows = fixed[fixed["term"] == term]
        assert len(rows) == 10  # a row per cell
        assert rows.groupby("fit")["estimate"].nunique().max() == 1  # shared rows are equal
        points = curve_points(cells, term, list(grid.axes))
        assert len(points) == 4  # each lme4 result drawn once
        assert sorted(len(c) for c in points["cells"]) == [2, 2, 3, 3]
    run = json.loads((out / "run.json").read_text())
    assert run["fits"] == 4 and run["tasks"] == 10
    assert "lme4: 4 fit(s) for 10 cell(s)" in (out / "summary.md").read_text()


# ----- replicate ---------------------------------------------------------------------------------
def test_replicate_dry_run_builds_and_parses_each_structure(capsys):
    from pybrms.cli import main

    assert main(["replicate", "--demo", "--dry-run"]) == 0
    out = capsys.readouterr().out
    # (the listing moved here from tests/fast/test_replicate_plan.py)
    assert out.splitlines()[:4] == ["1a_all__brms  (4 x 250 draws)", "1a_all__lme4",
                                    "1b_all__brms  (4 x 250 draws)", "1b_all__lme4"]
    assert "--demo: bundled simulated data" in out
    assert "4 fits;" in out
    assert "4 unit(s), each model structure once (brms 2, lme4 2; brms: its build step" in out


def test_replicate_refuses_a_hypothesis_on_a_coefficient_the_model_lacks():
    from pybrms.papers.kyrychenko2025.prism import bundled_path
    from pybrms.papers.kyrychenko2025.replicate.checks import check_plan
    from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
    from pybrms.spec.hypotheses import parse_hypothesis

    plan = build_plan(["1b"], ["brms", "lme4"], quick=True, convo_types=["all"],
                      reasoning_nuance="mean")
    unit = plan.units[0]
    typo = dataclasses.replace(unit.model, hypotheses=(parse_hypothesis("TOXICTY > 0"),))
    plan.units[0] = dataclasses.replace(unit, model=typo, aliases=(typo,))
    with pytest.raises(SpecError) as info:
        check_plan(plan, bundled_path())
    assert (f"unit {unit.name} ({unit.engine}): hypothesis 'TOXICTY > 0' names 'TOXICTY', not a "
            "population-level coefficient of the model") in str(info.value)
