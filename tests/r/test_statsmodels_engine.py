"""The statsmodels engine against lme4's numbers (golden files) and against the lme4 engine.

Reference files: tests/golden/lme4/*.csv, written by tests/golden/lme4/make_golden.R
(2026-11-22, R 4.2.2, lme4 1.1-31, lmerTest 3.1-3).
"""

import numpy as np
import pandas as pd
import pytest

from pybrms.engines import lme4
from pybrms.engines import statsmodels as sme
from pybrms.errors import EngineError

from .conftest import lme4_golden

pytestmark = pytest.mark.r


_golden = lme4_golden


@pytest.fixture(scope="module")
def nested_crossed(golden_dir):
    return pd.read_csv(golden_dir / "lme4" / "nested_crossed.csv")


def test_mixedlm_sleepstudy_matches_lme4_to_1e4(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "sleepstudy.csv")
    fe, vc = _golden(golden_dir, "sleepstudy_lmer.csv")
    f = sme.fit("Reaction ~ Days + (Days | Subject)", d)
    t = f.tidy().set_index("term")
    assert list(t.index) == ["Intercept", "Days"] and (t["engine"] == "statsmodels").all()
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    assert t.loc["Intercept", "estimate"] == pytest.approx(251.405105, abs=1e-4)
    assert t.loc["Days", "estimate"] == pytest.approx(10.467286, abs=1e-4)
    sd = f.variance_components.set_index("name")["sd"]
    assert sd["Subject:Intercept"] == pytest.approx(vc["Subject:(Intercept)"], abs=1e-3)
    assert sd["Subject:Days"] == pytest.approx(vc["Subject:Days"], abs=1e-3)
    assert sd["Residual"] == pytest.approx(vc["Residual:"], abs=1e-3)
    assert f.provenance["method"] == "REML"
    assert f.plan.groups == "Subject" and f.plan.re_formula == "~Days"


def test_mixedlm_nested_and_crossed_variance_components(golden_dir, nested_crossed):
    fe, vc = _golden(golden_dir, "nested_crossed_lmer.csv")
    f = sme.fit("y ~ x + (1 | a/b) + (1 | c)", nested_crossed)
    assert f.provenance["mapping"]["single_group_for_crossed"] is True
    assert f.plan.vc == {"a": "0 + C(a)", "a:b": "0 + C(_pybrms_a_b)", "c": "0 + C(c)"}
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    sd = f.variance_components.set_index("name")["sd"]
    assert sd["a"] == pytest.approx(vc["a:(Intercept)"], abs=1e-3)
    assert sd["a:b"] == pytest.approx(vc["b:a:(Intercept)"], abs=1e-3)
    assert sd["c"] == pytest.approx(vc["c:(Intercept)"], abs=1e-3)
    assert sd["Residual"] == pytest.approx(vc["Residual:"], abs=1e-3)


def test_mixedlm_nested_only_uses_groups(golden_dir, nested_crossed):
    fe, vc = _golden(golden_dir, "nested_lmer.csv")
    f = sme.fit("y ~ x + (1 | a/b)", nested_crossed)
    assert f.plan.groups == "a" and f.plan.re_formula == "1"
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    sd = f.variance_components.set_index("name")["sd"]
    assert sd["a:Intercept"] == pytest.approx(vc["a:(Intercept)"], abs=1e-3)
    assert sd["a:b"] == pytest.approx(vc["b:a:(Intercept)"], abs=1e-3)


def test_bernoulli_is_labelled_variational_bayes_and_near_lme4(golden_dir):
    d = pd.read_csv(golden_dir / "brms" / "bern.csv")
    formula = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
    vb = sme.fit(formula, d, "bernoulli")
    t = vb.tidy().set_index("term")
    assert (t["engine"] == "statsmodels-vb").all()
    assert t["p_value"].isna().all() and t["statistic"].isna().all()
    method = vb.provenance["method"]
    assert "variational Bayes" in method and "not maximum likelihood" in method
    assert vb.provenance["priors"] == {"fixed_effects_sd": 2.0, "log_sd_sd": 1.0}
    ml = lme4.fit(formula, d, "bernoulli", quiet=True).tidy().set_index("term")
    # the slopes land within 0.1 of glmer's ML estimates (measured: 0.006 and 0.058)
    np.testing.assert_allclose(t.loc[["x1", "x2"], "estimate"], ml.loc[["x1", "x2"], "estimate"],
                               atol=0.1)
    # mean-field VB understates uncertainty: its SDs are below glmer's SEs here
    assert (t["std_error"] < ml["std_error"]).all()


def test_inexpressible_formulas_name_the_part(nested_crossed):
    with pytest.raises(EngineError, match=r"varying slopes \(x \| a\)"):
        sme.fit("y ~ x + (x | a) + (1 | c)", nested_crossed)
    with pytest.raises(EngineError, match=r"uncorrelated varying slopes \(x \|\| a\)"):
        sme.fit("y ~ x + (x || a)", nested_crossed)
    with pytest.raises(EngineError, match=r"random intercepts only; cannot express \(x \| a\)"):
        sme.fit("y ~ x + (x | a)", nested_crossed.assign(y=(nested_crossed.y > 0).astype(int)),
                "bernoulli")
    with pytest.raises(EngineError, match="family 'poisson'"):
        sme.fit("y ~ x + (1 | a)", nested_crossed.assign(y=1), "poisson")
    with pytest.raises(EngineError, match="family 'binomial'"):
        sme.fit("y | trials(n) ~ x + (1 | a)", nested_crossed, "binomial")
    with pytest.raises(EngineError, match=r"addition term\(s\) weights\(x\)"):
        sme.fit("y | weights(x) ~ x + (1 | a)", nested_crossed)
    with pytest.raises(EngineError, match="no group-level term"):
        sme.fit("y ~ x", nested_crossed)
    with pytest.raises(EngineError, match=r"'I\(x\^2\)'"):
        sme.fit("y ~ I(x^2) + (1 | a)", nested_crossed)
    with pytest.raises(EngineError, match="weights"):
        sme.fit("y ~ x + (1 | a)", nested_crossed, weights="x")


def test_fitset_lme4_vs_statsmodels_side_by_side(nested_crossed):
    from pybrms.compare.table import compare
    from pybrms.fitset import fit

    fs = fit("y ~ x + (1 | a/b) + (1 | c)", nested_crossed, engines=("lme4", "statsmodels"))
    c = compare(fs, ["x > 0.45"])
    sm = c.table[c.table.engine == "statsmodels"].set_index("term")
    assert c.reference == "lme4"
    # REML in both: the same estimates to well under a thousandth of an SE
    assert (sm["diff_se_units"].abs() < 1e-3).all(), sm["diff_se_units"]
    assert sm["overlap_fraction"].min() > 0.999
    h = c.hypotheses.iloc[0]
    assert h["lme4_p_test"].startswith("t (df = 854.8")  # lmerTest's Satterthwaite df
    assert h["statsmodels_p_test"] == "z"
    # x = 0.5007 (SE 0.0352): one-sided p of x > 0.45 is about 0.075 on either scale
    assert h["lme4_p_one_sided"] == pytest.approx(h["statsmodels_p_one_sided"], abs=2e-3)
    assert 0.06 < h["lme4_p_one_sided"] < 0.09
