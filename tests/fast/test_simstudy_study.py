"""Simulation studies without R: the study file, seeds, declarative data, task building, bad
input refused before any fit, and a whole run with the fit replaced by a stand-in (estimates
assembly, checkpoints and resume, a failing method recorded, the outputs written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.errors import SpecError
from pybrms.simstudy import declarative
from pybrms.simstudy import tasks as tasks_mod
from pybrms.simstudy.cli import run as cli_run
from pybrms.simstudy.generate import replicate_data
from pybrms.simstudy.plan import format_plan, plan_study
from pybrms.simstudy.seeds import replicate_rng, sampler_seed
from pybrms.simstudy.spec import build_study, load_study, parse_study
from pybrms.simstudy.tasks import build_tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "studies"


def gaussian_generate(rng, n_obs=40, effect=0.3):
    """A module-level generator (importable by name, as a worker needs)."""
    x = rng.normal(size=n_obs)
    g = np.repeat(np.arange(n_obs // 4), 4).astype(str)
    u = rng.normal(0, 0.5, n_obs // 4)[np.repeat(np.arange(n_obs // 4), 4)]
    y = 1.0 + effect * x + u + rng.normal(size=n_obs)
    return pd.DataFrame({"y": y, "x": x, "g": g}), {"x": effect, "Intercept": 1.0,
                                                    "sd_g__Intercept": 0.5, "sigma": 1.0}


def small_study(**over):
    kw = dict(generate=gaussian_generate, formula="y ~ x + (1 | g)", family="gaussian",
              conditions={"n_obs": [40, 80], "effect": [0.0, 0.3]},
              exclude=[{"n_obs": 80, "effect": 0.0}],
              methods={"lme4": {"engine": "lme4"}, "sm": {"engine": "statsmodels"}},
              focus=["x"], reps=3, seed=7)
    kw.update(over)
    return build_study(**kw)


# ----- the study file ---------------------------------------------------------------------------
def test_the_worked_study_file_parses_in_ademp_order():
    s = load_study(EXAMPLES / "glmm_coverage.toml")
    assert s.reps == 200 and s.seed == 20250
    assert s.focus == ["x", "w", "Intercept"]
    assert [c["n_groups"] for c in s.condition_list()] == [5, 10, 30]
    assert {m: s.methods[m].engine for m in s.methods} == {"lme4": "lme4", "brms": "brms"}
    assert s.methods["brms"].options == {"chains": 2, "iter": 1000}
    assert s.methods["brms"].priors[0] == {"prior": "normal(0, 2.5)", "class": "b"}


def test_conditions_cross_and_exclusions_drop_combinations():
    s = small_study()
    assert s.condition_list() == [{"n_obs": 40, "effect": 0.0}, {"n_obs": 40, "effect": 0.3},
                                  {"n_obs": 80, "effect": 0.3}]


@pytest.mark.parametrize("change, message", [
    ({"reps": 0}, "reps must be a positive integer"),
    ({"exclude": [{"n_groups": 5}]}, "unknown axis 'n_groups'"),
    ({"exclude": [{"n_obs": 50}]}, "axis 'n_obs' has no value 50"),
    ({"methods": {}}, "at least one method"),
    ({"focus": []}, "name the estimands"),
    ({"conditions": {"n": [10]}}, "output columns"),
    ({"generate": "no_colon"}, "module:function"),
])
def test_bad_studies_are_refused_with_a_clear_message(change, message):
    with pytest.raises(SpecError, match=message):
        small_study(**change)


def test_unknown_study_fields_and_method_fields_are_named():
    with pytest.raises(SpecError, match="unknown field.*'repz'"):
        parse_study({"study": {"repz": 3}})
    with pytest.raises(SpecError, match=r"\[methods.m\]: unknown field.*'chainz'"):
        small_study(methods={"m": {"engine": "lme4", "chainz": 2}})


# ----- seeds ------------------------------------------------------------------------------------
def test_a_replicate_has_the_same_data_whatever_reps_and_order():
    s = small_study()
    cond = {"n_obs": 40, "effect": 0.3}
    a, ta = replicate_data(s, cond, 2)
    s_more = small_study(reps=50)
    b, tb = replicate_data(s_more, dict(reversed(list(cond.items()))), 2)  # axis order ignored
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb == {"x": 0.3, "Intercept": 1.0, "sd_g__Intercept": 0.5, "sigma": 1.0}
    c, _ = replicate_data(s, cond, 1)
    d, _ = replicate_data(s, {"n_obs": 40, "effect": 0.0}, 2)
    assert not np.allclose(a["x"], c["x"]) and not np.allclose(a["x"], d["x"])
    assert sampler_seed(7, cond, 2) == sampler_seed(7, cond, 2) != sampler_seed(7, cond, 1)
    # the streams are numpy's SeedSequence spawn keys of the study seed
    assert replicate_rng(7, cond, 2).normal() == replicate_rng(7, cond, 2).normal()


# ----- the declarative model --------------------------------------------------------------------
def test_declarative_gaussian_recovers_its_truths_on_a_large_draw():
    model = {"formula": "y ~ x + z + (1 | g)", "family": "gaussian",
             "truth": {"b_Intercept": 1.0, "b_x": "effect", "b_zb": -0.5,
                       "sd_g__Intercept": 0.7, "sigma": 0.5},
             "design": {"groups": {"g": 400}, "size": 25,
                        "covariates": {"x": "normal(0, 1)", "z": "categorical(a, b)"}}}
    df, truth = declarative.simulate(model, {"effect": 0.3}, np.random.default_rng(1))
    assert truth["b_x"] == 0.3 and len(df) == 10_000
    X = np.column_stack([np.ones(len(df)), df["x"], df["z"] == "b"])
    beta = np.linalg.lstsq(X, df["y"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(beta, [1.0, 0.3, -0.5], atol=0.06)
    group_means = (df["y"] - X @ beta).groupby(df["g"]).mean()
    assert abs(group_means.std() - 0.7) < 0.06


def test_declarative_truth_for_a_parameter_the_model_lacks_is_refused():
    model = {"formula": "y ~ x + (1 | g)", "family": "bernoulli",
             "truth": {"b_x": 1.0, "b_z": 1.0, "sigma": 1.0},
             "design": {"groups": {"g": 5}, "size": 4, "covariates": {"x": "normal(0, 1)"}}}
    with pytest.raises(SpecError, match=r"true value\(s\) for \['b_z', 'sigma'\]"):
        declarative.simulate(model, {}, np.random.default_rng(1))


def test_sbc_truth_uses_brms_centred_intercept():
    model = {"formula": "y ~ x + (1 | g)", "family": "gaussian",
             "design": {"groups": {"g": 10}, "size": 5, "covariates": {"x": "normal(2, 1)"}}}
    prior = [{"prior": "normal(0, 1)", "class": "b"},
             {"prior": "normal(0, 1)", "class": "Intercept"},
             {"prior": "exponential(1)", "class": "sd"},
             {"prior": "exponential(1)", "class": "sigma"}]
    df, truth = declarative.simulate(model, {}, np.random.default_rng(3), prior=prior,
                                     truth_rng=np.random.default_rng(4))
    t2, centred = declarative.draw_truth(model, prior, df, np.random.default_rng(4))
    assert truth["b_Intercept"] == pytest.approx(centred - t2["b_x"] * df["x"].mean())
    assert truth["sd_g__Intercept"] > 0 and truth["sigma"] > 0
    with pytest.raises(SpecError, match="give a prior for class 'sigma'"):
        declarative.draw_truth(model, prior[:3], df, np.random.default_rng(4))


# ----- building tasks ---------------------------------------------------------------------------
def test_tasks_one_per_condition_rep_method_with_stable_keys():
    s = small_study()
    tasks, notes = build_tasks(s)
    assert len(tasks) == 3 * 3 * 2 and notes == []
    assert tasks[0].name == "n_obs-40_effect-0.0__r0000__lme4"
    again, _ = build_tasks(small_study(reps=5))
    keys = {t.name: t.key for t in again}
    assert all(keys[t.name] == t.key for t in tasks)  # more reps keep the first ones' keys


def test_brms_compiles_once_unless_its_default_priors_depend_on_the_data():
    priors = [{"prior": "normal(0, 1)", "class": c} for c in ("b", "Intercept")] + [
        {"prior": "exponential(1)", "class": c} for c in ("sd", "sigma")]
    s = small_study(methods={"brms": {"engine": "brms", "prior": priors, "chains": 1}})
    tasks, notes = build_tasks(s)
    assert len({t.structure for t in tasks}) == 1 and notes == []
    assert len({t.options["seed"] for t in tasks}) == len(tasks)  # a seed per replicate
    s = small_study(methods={"brms": {"engine": "brms", "chains": 1}})
    tasks, notes = build_tasks(s)
    assert len({t.structure for t in tasks}) == len(tasks)
    assert "data-dependent default priors" in notes[0]


def test_bad_generators_and_estimands_fail_before_any_fit():
    def no_x(rng, n_obs, effect):
        df, truth = gaussian_generate(rng, n_obs, effect)
        return df.drop(columns="x"), truth

    with pytest.raises(SpecError, match=r"returned no column\(s\) \['x'\]"):
        build_tasks(small_study(generate=no_x))
    with pytest.raises(SpecError, match=r"must return \(DataFrame"):
        build_tasks(small_study(generate=lambda rng, **c: pd.DataFrame()))
    with pytest.raises(SpecError, match=r"does not estimate the estimand\(s\) \['z'\]"):
        build_tasks(small_study(focus=["x", "z"],
                                generate=lambda rng, **c: (gaussian_generate(rng, **c)[0],
                                                           {"x": 1, "z": 2})))
    with pytest.raises(SpecError, match=r"true value\(s\) for \['b_w'\]|\['w'\]"):
        build_tasks(small_study(generate=lambda rng, **c: (gaussian_generate(rng, **c)[0],
                                                           {"x": 1, "w": 2})))
    with pytest.raises(SpecError, match="no true value for the estimand"):
        build_tasks(small_study(generate=lambda rng, **c: (gaussian_generate(rng, **c)[0],
                                                           {"Intercept": 1})))
    with pytest.raises(SpecError, match=r"takes no option\(s\) \['chains'\]"):
        build_tasks(small_study(methods={"lme4": {"engine": "lme4", "chains": 2}}))


def test_dry_run_counts_fits_programs_and_replicates_for_a_target(capsys):
    plan = plan_study(load_study(EXAMPLES / "glmm_coverage.toml"),
                      targets=["coverage=0.005", "power=0.01"])
    assert plan["fits"] == 3 * 200 * 2 and plan["programs"] == 1
    assert [t["replicates"] for t in plan["targets"]] == [1900, 2500]  # Morris et al.'s 1900
    lines = format_plan(plan)
    assert lines[0].startswith("3 condition(s) x 200 replicate(s) x 2 method(s) = 1200 fit(s)")
    with pytest.raises(SpecError, match="needs a pilot"):
        plan_study(load_study(EXAMPLES / "glmm_coverage.toml"), targets=["bias=0.01"])


# ----- a whole run with a stand-in fit ----------------------------------------------------------
def fake_fit_record(request, *, fit_path=None, add=None, extra_options=None):
    """A deterministic stand-in for a fit: OLS of y on x with its Wald interval."""
    df = request.data
    X = np.column_stack([np.ones(len(df)), df["x"]])
    beta, res, *_ = np.linalg.lstsq(X, df["y"].to_numpy(), rcond=None)
    sigma2 = float(res[0]) / (len(df) - 2)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    if request.engine == "statsmodels" and abs(df["x"].iloc[0]) > 1.5:
        raise RuntimeError("stand-in failure on this replicate")
    tidy = [{"term": t, "effect": "fixed", "estimate": b, "std_error": s,
             "conf_low": b - 1.96 * s, "conf_high": b + 1.96 * s, "p_value": 0.5}
            for t, b, s in zip(("Intercept", "x"), beta, se, strict=True)]
    return ({"engine": request.engine, "tidy": tidy, "converged": True, "singular": False,
             "warnings": [], "provenance": {}, "seconds": 0.01}, None)


def test_a_run_assembles_estimates_counts_failures_resumes_and_writes_outputs(
        tmp_path, monkeypatch):
    monkeypatch.setattr(tasks_mod, "fit_record", fake_fit_record)
    s = small_study(reps=6)
    out = tmp_path / "out"
    # the stand-in fit is patched in this process: the fits run here, not in R hosts
    res = pybrms.simstudy(s, out=out, quiet=True, keep_going=True, isolate=False)
    est = res.estimates
    assert len(est) == 3 * 6 * 2 and list(est.columns[:2]) == ["n_obs", "effect"]
    failed = est[est["error"] != ""]
    assert len(failed) == len(res.failed) > 0 and failed["method"].eq("sm").all()
    assert failed["estimate"].isna().all()
    # every method of a replicate saw one data set
    ok = est[est["error"] == ""]
    assert ok.groupby(["n_obs", "effect", "rep"])["data_hash"].nunique().max() == 1
    conv = res.convergence.set_index(["n_obs", "effect", "method"])
    assert conv["n_failed"].sum() == len(res.failed)
    perf = res.performance
    bias = perf[(perf["measure"] == "bias") & (perf["subset"] == "all")
                & (perf["method"] == "lme4")]
    mine = ok[ok["method"] == "lme4"].assign(err=lambda d: d["estimate"] - d["truth"])
    np.testing.assert_allclose(bias["value"].to_numpy(),
                               mine.groupby(["n_obs", "effect"])["err"].mean().to_numpy())
    for name in ("estimates.csv", "performance.csv", "convergence.csv", "summary.md",
                 "summary.html", "summary.tex", "run.json", "bias_x.png", "coverage_x.png",
                 "nested_loop_cover_x.png"):
        assert (out / name).exists(), name
    md = (out / "summary.md").read_text()
    assert "## FAILED fits" in md and "stand-in failure" in md
    tex = (out / "summary.tex").read_text()
    assert r"\begin{tabular}" in tex and r"n\_obs" in tex
    run = json.loads((out / "run.json").read_text())
    assert run["fits"] == 36 and len(run["failed"]) == len(res.failed)
    again = pybrms.simstudy(s, out=out, quiet=True, keep_going=True, isolate=False)
    assert len(again.resumed) == 36 - len(res.failed) and sorted(again.failed) == sorted(
        res.failed)  # failures are retried (and fail again), the rest resume
    pd.testing.assert_frame_equal(again.performance, res.performance)


def test_the_cli_dry_run(capsys):
    import argparse

    args = argparse.Namespace(study=str(EXAMPLES / "glmm_coverage.toml"), dry_run=True,
                              reps=10, quick=True, target_mcse=["coverage=0.01"], pilot=0,
                              out="x", workers=None, quiet=True)
    assert cli_run(args) == 0
    out = capsys.readouterr().out
    assert "= 60 fit(s); 1 Stan program(s)" in out and "475 replicate(s)" in out


def test_the_command_is_registered():
    from pybrms.cli import build_parser

    args = build_parser().parse_args(["simstudy", "s.toml", "--workers", "2", "--reps", "5",
                                      "--target-mcse", "coverage=0.01", "--dry-run"])
    assert (args.study, args.workers, args.reps, args.target_mcse, args.dry_run) == (
        "s.toml", 2, 5, ["coverage=0.01"], True)


def test_a_pilot_times_the_fits_and_plans_bias_from_its_mcse(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks_mod, "fit_record", fake_fit_record)
    s = small_study(methods={"lme4": {"engine": "lme4"}})
    plan = plan_study(s, targets=["bias=0.01", "coverage=0.01"], pilot=4, out=tmp_path)
    assert (tmp_path / "pilot" / "estimates.csv").exists()
    assert set(plan["pilot_seconds"]) == {"lme4"}
    bias, cover = plan["targets"]
    perf = pd.read_csv(tmp_path / "pilot" / "performance.csv")
    rows = perf[(perf["measure"] == "bias") & (perf["subset"] == "all")]
    assert bias["replicates"] == int(np.ceil(max(4 * (rows["mcse"] / 0.01) ** 2)))
    assert cover["replicates"] == 475


def test_a_missing_or_broken_study_file_is_named(tmp_path):
    with pytest.raises(SpecError, match=r"study file '.*nope\.toml' does not exist"):
        load_study(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[study]\nreps = \n")
    with pytest.raises(SpecError, match=r"study file '.*bad\.toml' is not valid TOML: "):
        load_study(bad)
