"""Bad input caught before any fit, all at once, and fits shared by cells that differ only in
what an engine ignores (no R: lme4's and statsmodels's checks are Python; brms's build step
and Stan's parser are in tests/r/test_sensitivity_checks.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.checks import InputProblems, Problem, merge, raise_problems
from pybrms.engines.brms.parse import StanRefusal, culprits, describe, read_refusal
from pybrms.errors import DataError, EngineError, SpecError
from pybrms.sensitivity import load_grid, parse_grid
from pybrms.sensitivity.curve import curve_points
from pybrms.sensitivity.runner import build_tasks, check_grid
from pybrms.spec.coefficients import coefficient_names
from pybrms.spec.priors import prior

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grids"


def lme4_grid(**base):
    t = {"base": {"data": "cbpp.csv", "formula": "incidence | trials(size) ~ period + (1 | herd)",
                  "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                  "engines": ["lme4"], "focus": ["periodP2"], **base},
         "axes": {"prior": {"wide": {}, "tight": {"prior": [{"prior": "normal(0, 1)",
                                                              "class": "b"}]}},
                  "herds": {"all": {}, "no_1": {"filter": "herd != 1"}}}}
    return parse_grid(t, root=EXAMPLE)


# ----- fit once what is the same ----------------------------------------------------------
def test_the_cbpp_example_fits_lme4_once_per_distinct_model(tmp_path):
    g = load_grid(EXAMPLE / "cbpp.toml")
    tasks = build_tasks(g, g.cells(), tmp_path)
    lme4 = [t for t in tasks if t.engine == "lme4"]
    brms = [t for t in tasks if t.engine == "brms"]
    assert len(lme4) == 10 and len(brms) == 10  # a task per cell and engine, as before
    fits = [t for t in lme4 if t.shared_with is None]
    # 2 herd options x 2 overdispersion options: 4 lme4 models whatever the prior says
    assert len(fits) == 4
    assert {t.cell for t in fits} == {"normal_0_5__all__none", "normal_0_5__all__observation_level",
                                      "normal_0_5__without_herd_1__none",
                                      "normal_0_5__without_herd_1__observation_level"}
    by_name = {t.name: t for t in tasks}
    for t in lme4:
        if t.shared_with:
            lead = by_name[t.shared_with]
            assert lead.key == t.key and lead.cell.split("__")[1:] == t.cell.split("__")[1:]
    # brms takes the priors: every cell is its own fit
    assert all(t.shared_with is None for t in brms)


def _gaussian_grid(tmp_path, engines=("statsmodels",), focus=("x",)):
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(10), 8)
    df = pd.DataFrame({"g": g, "x": rng.normal(size=80),
                       "site": np.where(np.arange(80) % 2, "north", "south")})
    df["y"] = 0.5 + 0.8 * df["x"] + rng.normal(0, 0.5, 10)[g] + rng.normal(size=80)
    df.to_csv(tmp_path / "d.csv", index=False)
    return {"base": {"data": str(tmp_path / "d.csv"), "formula": "y ~ x + site + (1 | g)",
                     "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                     "engines": list(engines), "focus": list(focus)},
            "axes": {"prior": {"wide": {}, "tight": {"prior": [{"prior": "normal(0, 1)",
                                                                 "class": "b"}]},
                               "tighter": {"prior": [{"prior": "normal(0, 0.5)",
                                                      "class": "b"}]}},
                     "rows": {"all": {}, "north": {"filter": "site == 'north'",
                                                   "formula": "y ~ x + (1 | g)"}}}}


def test_shared_fits_are_fitted_once_kept_per_cell_and_drawn_once(tmp_path):
    out = tmp_path / "out"
    result = pybrms.sensitivity(_gaussian_grid(tmp_path), out, quiet=True)
    # 3 priors x 2 row choices = 6 cells; statsmodels takes no priors: 2 fits
    assert sorted(result.fitted) == ["wide__all__statsmodels", "wide__north__statsmodels"]
    assert result.shared == {"tight__all__statsmodels": "wide__all__statsmodels",
                             "tighter__all__statsmodels": "wide__all__statsmodels",
                             "tight__north__statsmodels": "wide__north__statsmodels",
                             "tighter__north__statsmodels": "wide__north__statsmodels"}
    assert sorted(p.name for p in (out / "cells").glob("*.json")) == [
        "wide__all__statsmodels.json", "wide__north__statsmodels.json"]
    cells = pd.read_csv(out / "cells.csv")
    x = cells[(cells["term"] == "x") & (cells["effect"] == "fixed")].set_index("cell")
    assert len(x) == 6  # a row per cell
    assert x.loc["tighter__all", "fit"] == "wide__all__statsmodels"
    assert x.loc["wide__north", "fit"] == "wide__north__statsmodels"
    assert x.loc["tight__all", "estimate"] == x.loc["wide__all", "estimate"]
    assert x.loc["wide__all", "estimate"] != x.loc["wide__north", "estimate"]
    points = curve_points(cells, "x", ["prior", "rows"])
    assert len(points) == 2  # each fit once
    all_rows = points[points["fit"] == "wide__all__statsmodels"].iloc[0]
    assert all_rows["prior"] == {"wide", "tight", "tighter"} and all_rows["rows"] == {"all"}
    assert (out / "specification_curve.png").stat().st_size > 1000
    run = json.loads((out / "run.json").read_text())
    assert run["tasks"] == 6 and run["fits"] == 2 and len(run["shared_fits"]) == 4
    assert run["cells_by_engine"]["statsmodels"] == sorted(x.index)
    summary = (out / "summary.md").read_text()
    assert "6 cell(s), 2 fit(s) for 6 cell x engine pair(s)" in summary
    assert ("statsmodels: 2 fit(s) for 6 cell(s): it takes no priors, so cells that differ "
            "only in priors are one model") in summary
    robust = summary.split("## Robustness of the focus terms")[1].split("##")[0]
    assert "| x | statsmodels | 6 | 2 |" in robust  # 6 cells, 2 fits
    diag = summary.split("## Diagnostics of every fit")[1].split("##")[0]
    assert diag.count("statsmodels |") == 2  # each fit's diagnostics once


# ----- bad input before any fit, all at once ------------------------------------------------
def test_a_misspelt_focus_term_is_refused_before_any_fit(tmp_path):
    g = lme4_grid(focus=["periodP2", "peroidP4"])
    with pytest.raises(SpecError) as info:
        check_grid(g, g.cells(), tmp_path)
    msg = str(info.value)
    assert "[base] focus" in msg and "'peroidP4'" in msg and "did you mean 'periodP4'?" in msg
    assert "Intercept, periodP2, periodP3, periodP4" in msg
    assert "'periodP2'" not in msg.split("coefficients are")[0]
    with pytest.raises(SpecError, match="peroidP4"):
        pybrms.sensitivity(g, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_a_focus_term_some_cells_lack_is_a_note(tmp_path):
    check = check_grid(parse_grid(_gaussian_grid(tmp_path, focus=["x", "sitesouth"])),
                       parse_grid(_gaussian_grid(tmp_path)).cells(), tmp_path)
    assert check.notes == ["focus term 'sitesouth' is not a coefficient of statsmodels's model "
                           "in 3 of 6 place(s): cell wide__north, cell tight__north, "
                           "cell tighter__north"]


def test_an_unknown_engine_option_is_refused(tmp_path):
    g = lme4_grid(engine_options={"brms": {"adapt_delta": 0.9}, "lme4": {"fast": True}})
    with pytest.raises(EngineError) as info:
        build_tasks(g, g.cells(), tmp_path)
    assert "[base] engine_options (brms): engine brms has no option(s) 'adapt_delta'" in str(
        info.value)
    g = lme4_grid(engine_options={"lmer": {}})
    with pytest.raises(SpecError, match="unknown engine 'lmer'"):
        build_tasks(g, g.cells(), tmp_path)


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    from pybrms.cli import main

    text = (EXAMPLE / "cbpp.toml").read_text()
    bad = (text.replace('"cbpp.csv"', f'"{EXAMPLE / "cbpp.csv"}"')
           .replace('engines = ["brms", "lme4"]', 'engines = ["lme4"]\n'
                    'engine_options = { lme4 = { nagq = -1 }, brms = { adapt_delta = 0.9 } }')
           .replace('focus = ["periodP2", "periodP4"]', 'focus = ["periodP2", "periodp4"]')
           .replace('filter = "herd != 1"', 'filter = "farm != 1"')
           .replace('family = "binomial"', 'family = "binomal"'))
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "problem(s) in the grid" in err
    for words in ("engine brms has no option(s) 'adapt_delta'",
                  "filter 'farm != 1': column 'farm' is not in the data",
                  "engine lme4 cannot fit family 'binomal'",
                  "cell normal_0_5__without_herd_1__none (also "):
        assert words in err, words
    assert not (tmp_path / "o").exists()
    assert "nagq must be a non-negative integer" in err
    # with a model lme4 can fit, its coefficients are known: the focus typo comes out too
    path.write_text(bad.replace('family = "binomal"', 'family = "binomial"')
                    .replace("nagq = -1", "nagq = 1"))
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    assert "focus term 'periodp4'" in err and "did you mean 'periodP4'?" in err
    assert "filter 'farm != 1'" in err and "'adapt_delta'" in err


def test_one_problem_keeps_its_type_and_several_are_merged():
    a = Problem("column 'season' is not in the data", ("cell a",), "lme4", DataError("x"))
    b = Problem("column 'season' is not in the data", ("cell b",), "lme4", DataError("x"))
    merged = merge([a, b])
    assert len(merged) == 1 and merged[0].where == ("cell a", "cell b")
    assert str(merged[0]) == "cell a (also b) (lme4): column 'season' is not in the data"
    with pytest.raises(DataError, match=r"cell a \(also b\) \(lme4\): column 'season'"):
        raise_problems([a, b])
    with pytest.raises(InputProblems) as info:
        raise_problems([a, Problem("another", ("cell c",))], "the grid g.toml")
    assert str(info.value).startswith("2 problem(s) in the grid g.toml, found before any fit:")
    raise_problems([])  # nothing to raise


# ----- what Python can name: the coefficients lme4 and statsmodels report -------------------
#: R 4.2.2 ``colnames(model.matrix(~ rhs, d))`` on the frame below (Intercept renamed as brms)
R_NAMES = {
    "y ~ x + x:f": ["Intercept", "x", "x:fb"],
    "y ~ x:f": ["Intercept", "x:fa", "x:fb"],
    "y ~ 0 + f + g": ["fa", "fb", "gv", "gw"],
    "y ~ f:g": ["Intercept", "fa:gu", "fb:gu", "fa:gv", "fb:gv", "fa:gw", "fb:gw"],
    "y ~ f + f:g": ["Intercept", "fb", "fa:gv", "fb:gv", "fa:gw", "fb:gw"],
    "y ~ 0 + f:x": ["fa:x", "fb:x"],
    "y ~ g*f + (1 | h)": ["Intercept", "gv", "gw", "fb", "gv:fb", "gw:fb"],
    "y ~ l + x:l": ["Intercept", "lTRUE", "lFALSE:x", "lTRUE:x"],
    "y ~ 0 + l": ["lFALSE", "lTRUE"],
    "y | trials(n) ~ x - 1": ["x"],
}


@pytest.mark.parametrize("formula", list(R_NAMES))
def test_coefficient_names_are_r_model_matrix_names(formula):
    d = pd.DataFrame({"y": range(8), "n": 9, "h": 1, "x": np.linspace(0, 1, 8),
                      "f": list("abab" * 2), "g": list("uvwu" * 2), "l": [True, False] * 4})
    assert sorted(coefficient_names(formula, d)) == sorted(R_NAMES[formula])


def test_coefficient_names_only_what_python_can_name():
    d = pd.DataFrame({"y": [1.0, 2.0], "x": [1.0, 2.0], "c": pd.Categorical(["b", "a"],
                                                                         ["b", "a", "z"])})
    assert coefficient_names("y ~ log(x)", d) is None
    assert coefficient_names("y ~ poly(x, 2)", d) is None
    # a categorical keeps its declared order; unused categories are dropped (as lme4 and brms)
    assert coefficient_names("y ~ c", d) == ["Intercept", "ca"]
    assert coefficient_names("y ~ z", d) is None  # not a column: the data check's to say


# ----- Stan's parser output, read -------------------------------------------------------------
#: rstan 2.21.7's stanc() messages for brms 2.18's program of cbpp with the prior on class b
NROMAL = ("SYNTAX ERROR, MESSAGE(S) FROM PARSER:\n\nNo matches for: \n\n\n\n  "
          "nromal_lpdf(vector, int, int)\n\n\n\nFunction nromal_lpdf not found.\n\n error in "
          "'model1be7_brms_model' at line 36, column 33\n\n  ------------------------------\n\n"
          "    35:   r_1_1 = (sd_1[1] * (z_1[1]));\n\n    36:   lprior += nromal_lpdf(b | 0, 1);"
          "\n\n                                        ^\n\n    37:   lprior += student_t_lpdf("
          "Intercept | 3, 0, 2.5);\n\n  ------------------------------\n\n\n\nfailed to parse "
          "Stan model 'brms_model' due to the above error.")
MISSING = ("SYNTAX ERROR, MESSAGE(S) FROM PARSER:\n\n error in 'model1be7_brms_model' at line "
           "36, column 23\n\n  ---------------\n\n    36:   lprior += normal_lpdf(b | 0, );\n\n"
           "  ---------------\n\n\n\nPARSER EXPECTED: <probability function argument>\n\n"
           "failed to parse Stan model 'brms_model' due to the above error.")


def _program(line):
    return "\n".join(["// brms"] * 35 + [f"  {line}", "  lprior += student_t_lpdf(x | 3, 0, 1);"])


def test_stan_parser_messages_become_one_line_naming_the_prior():
    r = read_refusal(NROMAL, _program("lprior += nromal_lpdf(b | 0, 1);"))
    assert r == StanRefusal("No matches for: nromal_lpdf(vector, int, int); Function "
                            "nromal_lpdf not found.", 36, "lprior += nromal_lpdf(b | 0, 1);")
    priors = [prior("nromal(0, 1)"), prior("student_t(3, 0, 1)", class_="sd")]
    assert culprits(r, priors) == [priors[0]]
    assert describe(r, priors) == (
        "Stan's parser refuses the prior 'nromal(0, 1)' (class b): No matches for: "
        "nromal_lpdf(vector, int, int); Function nromal_lpdf not found. [brms wrote line 36: "
        "lprior += nromal_lpdf(b | 0, 1);]")
    m = read_refusal(MISSING, _program("lprior += normal_lpdf(b | 0, );"))
    assert m.reason == "the parser expected <probability function argument> at column 23"
    assert culprits(m, [prior("normal(0, 1)", class_="sd"), prior("normal(0, )")])[0].prior == \
        "normal(0, )"
    # a line no prior of the user wrote: the program is named instead
    assert describe(m, []).startswith("Stan's parser refuses the program brms wrote: the parser")
