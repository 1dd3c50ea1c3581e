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
from pybrms.spec.model import FitSpec

from .conftest import lme4_golden

pytestmark = pytest.mark.r


_golden = lme4_golden


def smfit(formula, data, family="gaussian", **options):
    spec = FitSpec.build(formula, data, family)
    return sme.fit(spec, sme.StatsmodelsOptions.build(options))


def ran_pars(f):
    return f.tidy(effects="ran_pars").set_index("term")["estimate"]


@pytest.fixture(scope="module")
def nested_crossed(golden_dir):
    return pd.read_csv(golden_dir / "lme4" / "nested_crossed.csv")


def test_mixedlm_sleepstudy_matches_lme4_to_1e4(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "sleepstudy.csv")
    fe, vc = _golden(golden_dir, "sleepstudy_lmer.csv")
    f = smfit("Reaction ~ Days + (Days | Subject)", d)
    t = f.tidy(effects="fixed").set_index("term")
    assert list(t.index) == ["Intercept", "Days"] and (t["engine"] == "statsmodels").all()
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    assert t.loc["Intercept", "estimate"] == pytest.approx(251.405105, abs=1e-4)
    assert t.loc["Days", "estimate"] == pytest.approx(10.467286, abs=1e-4)
    sd = ran_pars(f)
    assert sd["sd_Subject__Intercept"] == pytest.approx(vc["Subject:(Intercept)"], abs=1e-3)
    assert sd["sd_Subject__Days"] == pytest.approx(vc["Subject:Days"], abs=1e-3)
    assert sd["sigma"] == pytest.approx(vc["Residual:"], abs=1e-3)
    assert -1 < sd["cor_Subject__Intercept__Days"] < 1
    assert f.provenance["method"] == "REML"
    assert f.plan.groups == "Subject" and f.plan.re_formula == "~Days"


def test_mixedlm_nested_and_crossed_variance_components(golden_dir, nested_crossed):
    fe, vc = _golden(golden_dir, "nested_crossed_lmer.csv")
    f = smfit("y ~ x + (1 | a/b) + (1 | c)", nested_crossed)
    assert f.provenance["details"]["mapping"]["single_group_for_crossed"] is True
    assert f.plan.vc == {"a": "0 + C(a)", "a:b": "0 + C(_pybrms_a_b)", "c": "0 + C(c)"}
    t = f.tidy(effects="fixed").set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    sd = ran_pars(f)
    assert sd["sd_a__Intercept"] == pytest.approx(vc["a:(Intercept)"], abs=1e-3)
    assert sd["sd_a:b__Intercept"] == pytest.approx(vc["b:a:(Intercept)"], abs=1e-3)
    assert sd["sd_c__Intercept"] == pytest.approx(vc["c:(Intercept)"], abs=1e-3)
    assert sd["sigma"] == pytest.approx(vc["Residual:"], abs=1e-3)


def test_mixedlm_nested_only_uses_groups(golden_dir, nested_crossed):
    fe, vc = _golden(golden_dir, "nested_lmer.csv")
    f = smfit("y ~ x + (1 | a/b)", nested_crossed)
    assert f.plan.groups == "a" and f.plan.re_formula == "1"
    t = f.tidy(effects="fixed").set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], atol=1e-4)
    np.testing.assert_allclose(t["std_error"], fe.loc[t.index, "std_error"], atol=1e-4)
    sd = ran_pars(f)
    assert sd["sd_a__Intercept"] == pytest.approx(vc["a:(Intercept)"], abs=1e-3)
    assert sd["sd_a:b__Intercept"] == pytest.approx(vc["b:a:(Intercept)"], abs=1e-3)


def test_bernoulli_is_labelled_variational_bayes_and_near_lme4(golden_dir):
    d = pd.read_csv(golden_dir / "brms" / "bern.csv")
    formula = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
    vb = smfit(formula, d, "bernoulli")
    t = vb.tidy(effects="fixed").set_index("term")
    assert (t["engine"] == "statsmodels").all() and vb.bayesian
    assert t["p_value"].isna().all() and t["statistic"].isna().all()
    method = vb.provenance["method"]
    assert "variational Bayes" in method and "not maximum likelihood" in method
    assert (t["method"] == method).all()
    assert vb.provenance["details"]["priors"] == {"fixed_effects_sd": 2.0, "log_sd_sd": 1.0}
    assert set(ran_pars(vb).index) == {"sd_user__Intercept", "sd_user:conv__Intercept",
                                       "sd_model__Intercept"}
    ml = lme4.fit(FitSpec.build(formula, d, "bernoulli"), lme4.Lme4Options(quiet=True))
    ml = ml.tidy(effects="fixed").set_index("term")
    # the slopes land within 0.1 of glmer's ML estimates (measured: 0.006 and 0.058)
    np.testing.assert_allclose(t.loc[["x1", "x2"], "estimate"], ml.loc[["x1", "x2"], "estimate"],
                               atol=0.1)
    # mean-field VB understates uncertainty: its SDs are below glmer's SEs here
    assert (t["std_error"] < ml["std_error"]).all()


def test_inexpressible_formulas_name_the_part(nested_crossed):
    with pytest.raises(EngineError, match=r"varying slopes \(x \| a\)"):
        smfit("y ~ x + (x | a) + (1 | c)", nested_crossed)
    with pytest.raises(EngineError, match=r"uncorrelated varying slopes \(x \|\| a\)"):
        smfit("y ~ x + (x || a)", nested_crossed)
    with pytest.raises(EngineError, match=r"random intercepts only; cannot express \(x \| a\)"):
        smfit("y ~ x + (x | a)", nested_crossed.assign(y=(nested_crossed.y > 0).astype(int)),
                "bernoulli")
    with pytest.raises(EngineError, match="family 'poisson'"):
        smfit("y ~ x + (1 | a)", nested_crossed.assign(y=1), "poisson")
    with pytest.raises(EngineError, match="family 'binomial'"):
        smfit("y | trials(n) ~ x + (1 | a)", nested_crossed.assign(y=1, n=3), "binomial")
    with pytest.raises(EngineError, match=r"addition term\(s\) weights\(x\)"):
        smfit("y | weights(x) ~ x + (1 | a)", nested_crossed)
    with pytest.raises(EngineError, match="no group-level term"):
        smfit("y ~ x", nested_crossed)
    with pytest.raises(EngineError, match=r"'I\(x\^2\)'"):
        smfit("y ~ I(x^2) + (1 | a)", nested_crossed)
    with pytest.raises(EngineError, match="no option.*'weights'"):
        smfit("y ~ x + (1 | a)", nested_crossed, weights="x")


def test_fitset_lme4_vs_statsmodels_side_by_side(nested_crossed):
    from pybrms.compare.table import compare
    from pybrms.fitset import fit

    fs = fit("y ~ x + (1 | a/b) + (1 | c)", nested_crossed, engines=("lme4", "statsmodels"))
    c = compare(fs, ["x > 0.45"])
    sm = c.table[(c.table.engine == "statsmodels") & (c.table.effect == "fixed")].set_index("term")
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


def test_crossed_reml_group_sds_agree_between_lme4_and_statsmodels(nested_crossed):
    """The contract's promise: the same sd_* rows, REML in both, equal to 1e-3."""
    from pybrms.fitset import fit

    fs = fit("y ~ x + (1 | a) + (1 | c)", nested_crossed, engines=("lme4", "statsmodels"))
    t = fs.tidy()
    assert list(t.columns) == list(fs["lme4"].tidy().columns)
    rp = t[t.effect == "ran_pars"].pivot(index="term", columns="engine", values="estimate")
    assert set(rp.index) == {"sd_a__Intercept", "sd_c__Intercept", "sigma"}
    np.testing.assert_allclose(rp["statsmodels"], rp["lme4"], atol=1e-3)
    assert (t.groupby("engine")["method"].first() == "REML").all()
