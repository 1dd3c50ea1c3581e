"""Simulation studies with real brms fits: ONE small compiled program serves every test here
(gaussian ``y ~ x + (1 | g)`` with every prior explicit, its constants passed as Stan data, so
methods that differ only in prior scales share it; reuse the compile cache with
PYBRMS_CACHE_DIR).

- a study of brms and lme4: one program for all replicates, every method sees one data set, a
  rerun resumes, and a replicate's brms draws equal a plain ``brm()`` of that replicate's data;
- simulation-based calibration: brms with the generating prior passes the ECDF test; brms with
  a ten times too narrow prior on ``b`` (the same program) is flagged on ``b_x``.
"""

from __future__ import annotations

import numpy as np
import pytest

import pybrms
from pybrms.simstudy.generate import replicate_data

pytestmark = pytest.mark.slow

FORMULA = "y ~ x + (1 | g)"
PRIORS = [
    {"prior": "normal(0, 1)", "class": "b"},
    {"prior": "normal(0, 1)", "class": "Intercept"},
    {"prior": "lognormal(-1, 0.3)", "class": "sd"},
    {"prior": "lognormal(0, 0.2)", "class": "sigma"},
]
DESIGN = {"groups": {"g": 8}, "size": 5, "covariates": {"x": "normal(0, 1)"}}
BRMS = {"engine": "brms", "chains": 1, "iter": 600, "control": {"adapt_delta": 0.95}}


def test_brms_and_lme4_share_data_compile_once_resume_and_match_plain_brm(tmp_path):
    model = {"formula": FORMULA, "family": "gaussian", "design": DESIGN,
             "truth": {"b_Intercept": 0.5, "b_x": "effect", "sd_g__Intercept": 0.4,
                       "sigma": 1.0}}
    kw = dict(model=model, formula=FORMULA, family="gaussian",
              conditions={"effect": [0.0, 0.5]},
              methods={"brms": {**BRMS, "prior": PRIORS}, "lme4": {"engine": "lme4"}},
              focus=["x", "sd_g__Intercept"], reps=2, seed=11, out=tmp_path / "out",
              quiet=True)
    res = pybrms.simstudy(**kw)
    est = res.estimates
    assert len(est) == 2 * 2 * 2 * 2 and (est["error"] == "").all()
    assert len(res.programs) == 1  # one Stan program for every replicate
    assert est.groupby(["effect", "rep"])["data_hash"].nunique().max() == 1
    brms = est[est["method"] == "brms"]
    assert (brms["stan_seconds"] > 0).all() and (brms["seconds"] > brms["stan_seconds"]).all()
    assert est.loc[(est["method"] == "lme4") & (est["term"] == "x"), "p_value"].notna().all()
    perf = res.performance
    assert {"bias", "cover", "power", "empse"} <= set(perf["measure"])
    again = pybrms.simstudy(**kw)
    assert len(again.resumed) == 8 and not again.fitted

    # replicate 1 of effect 0.5, fitted by a plain brm() with the same priors, seed and data
    task = next(t for t in res.tasks if t.method == "brms" and t.rep == 1
                and t.condition == {"effect": 0.5})
    df, _ = replicate_data(res.study, task.condition, task.rep)
    fit = pybrms.brm(FORMULA, df, "gaussian", prior=task.priors, stanvars=task.stanvars,
                     chains=1, iter=600, seed=task.options["seed"], cores=1,
                     control={"adapt_delta": 0.95}, quiet=True, diagnose=False)
    mine = brms[(brms["effect"] == 0.5) & (brms["rep"] == 1)].set_index("term")
    tidy = fit.tidy().set_index("term")
    for term in ("x", "sd_g__Intercept"):
        assert mine.loc[term, "estimate"] == tidy.loc[term, "estimate"]
        assert mine.loc[term, "conf_low"] == tidy.loc[term, "conf_low"]


def test_sbc_passes_brms_with_its_prior_and_flags_a_too_narrow_prior(tmp_path):
    model = {"formula": FORMULA, "family": "gaussian", "design": DESIGN}
    narrow = [{"prior": "normal(0, 0.1)", "class": "b"}, *PRIORS[1:]]
    res = pybrms.simstudy(
        model=model, formula=FORMULA, family="gaussian", sbc={"prior": PRIORS, "thin": 10},
        methods={"brms": BRMS, "brms_narrow": {**BRMS, "prior": narrow}},
        reps=16, seed=5, out=tmp_path / "sbc", quiet=True)
    assert len(res.programs) == 1
    test = res.sbc.set_index(["method", "variable"])
    assert set(test.index.get_level_values("variable")) == {
        "b_Intercept", "b_x", "sd_g__Intercept", "sigma"}
    assert (test["n"] == 16).all() and (test["max_rank"] == 29).all()
    # The decision is the simultaneous 95% ECDF band (sbc_test's ok). With 16 replicates a
    # calibrated method fails a given parameter with probability at most 5%; the seed is
    # fixed, so the outcome is deterministic. The narrow prior puts b_x's truths far in the
    # posterior's tails: its ranks pile at 0 and 29 and the test rejects with a tiny p-value.
    assert test.loc["brms", "ok"].all(), test.loc["brms"]
    assert not test.loc[("brms_narrow", "b_x"), "ok"]
    assert test.loc[("brms_narrow", "b_x"), "p_value"] < 1e-3
    ranks = res.ranks[(res.ranks["method"] == "brms_narrow") & (res.ranks["variable"] == "b_x")]
    assert np.mean((ranks["rank"] <= 2) | (ranks["rank"] >= 27)) > 0.5
    for name in ("sbc_test.csv", "sbc_ranks.csv", "sbc_ecdf_diff_base.png",
                 "sbc_ranks_brms_base.png"):
        assert (tmp_path / "sbc" / name).exists(), name
