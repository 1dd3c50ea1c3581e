"""The lme4 engine against lme4's own numbers.

Reference files: tests/golden/lme4/*.csv, written by tests/golden/lme4/make_golden.R
(2026-11-22, R 4.2.2, lme4 1.1-31, lmerTest 3.1-3) in a plain Rscript process.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from pybrms.engines import lme4
from pybrms.errors import DataError, EngineError, Lme4Warning, RError
from pybrms.spec.model import FitSpec

from .conftest import lme4_golden

pytestmark = pytest.mark.r


_golden = lme4_golden


def fit(formula, data, family="gaussian", **options):
    return lme4.fit(FitSpec.build(formula, data, family), lme4.Lme4Options.build(options))


def ran_pars(f):
    return f.tidy(effects="ran_pars").set_index("term")["estimate"]


@pytest.fixture(scope="module")
def sleep(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "sleepstudy.csv")
    d["Subject"] = d["Subject"].astype(str)
    return d


@pytest.fixture(scope="module")
def cbpp(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "cbpp.csv")
    # factors, as in lme4::cbpp: levels in R's declared order 1..15 and 1..4
    d["herd"] = pd.Categorical(d["herd"].astype(str), [str(i) for i in range(1, 16)])
    d["period"] = pd.Categorical(d["period"].astype(str), ["1", "2", "3", "4"])
    return d


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return fit("Reaction ~ Days + (Days | Subject)", sleep)


def test_sleepstudy_matches_lme4(sleep_fit, golden_dir):
    fe, vc = _golden(golden_dir, "sleepstudy_lmer.csv")
    t = sleep_fit.tidy(effects="fixed").set_index("term")
    assert list(t.index) == ["Intercept", "Days"]
    assert t.loc["Intercept", "estimate"] == pytest.approx(251.405105, abs=5e-7)
    assert t.loc["Days", "estimate"] == pytest.approx(10.467286, abs=5e-7)
    for col in ("estimate", "std_error", "statistic", "p_value"):
        np.testing.assert_allclose(t[col], fe.loc[t.index, col], rtol=1e-7, err_msg=col)
    sd = ran_pars(sleep_fit)
    assert list(sd.index) == ["sd_Subject__Intercept", "sd_Subject__Days",
                              "cor_Subject__Intercept__Days", "sigma"]
    np.testing.assert_allclose(sd[["sd_Subject__Intercept", "sd_Subject__Days", "sigma"]],
                               [vc["Subject:(Intercept)"], vc["Subject:Days"], vc["Residual:"]],
                               rtol=1e-7)
    assert sleep_fit.warnings == []
    p = sleep_fit.provenance
    assert p["method"] == "REML" and p["details"]["function"] == "lmerTest::lmer"
    assert p["versions"]["lme4"] == "1.1.31" and p["engine"] == "lme4"
    assert {"R", "lmerTest"} <= set(p["versions"])


def test_tidy_wald_interval_at_conf_level(sleep_fit):
    t95 = sleep_fit.tidy().set_index("term")
    t90 = sleep_fit.tidy(conf_level=0.90, effects="fixed").set_index("term")
    assert t95.loc["sigma", ["conf_low", "conf_high", "conf_level"]].isna().all()  # none made up
    # R's confint(method = "Wald") on the same fit equals ours
    from pybrms import bridge

    wald = bridge.r_matrix(bridge.session().start("core").r["confint"](
        sleep_fit.r, method="Wald", parm="beta_"))
    np.testing.assert_allclose(t95.loc[t95.effect == "fixed", "conf_low"], wald[:, 0], rtol=1e-12)
    np.testing.assert_allclose(t95.loc[t95.effect == "fixed", "conf_high"], wald[:, 1],
                               rtol=1e-12)
    # 90%: estimate -/+ 1.644854 * SE
    expect = t90["estimate"] - 1.6448536269514722 * t90["std_error"]
    np.testing.assert_allclose(t90["conf_low"], expect, rtol=1e-12)
    assert (t90["conf_level"] == 0.90).all() and (t90["engine"] == "lme4").all()
    assert t90["post_prob"].isna().all() and t90["evid_ratio"].isna().all()


@pytest.mark.parametrize("formula", [
    "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    "incidence | trials(size) ~ period + (1 | herd)",
])
def test_cbpp_binomial_matches_glmer(cbpp, golden_dir, formula):
    fe, vc = _golden(golden_dir, "cbpp_glmer.csv")
    f = fit(formula, cbpp, "binomial")
    t = f.tidy(effects="fixed").set_index("term")
    assert list(t.index) == ["Intercept", "period2", "period3", "period4"]
    np.testing.assert_allclose(t["estimate"], [-1.398343, -0.991925, -1.128216, -1.579745],
                               atol=5e-7)
    # herd reaches R as the factor lme4::cbpp has (levels 1..15): the very same fit as R's
    for col in ("estimate", "std_error", "statistic", "p_value"):
        np.testing.assert_allclose(t[col], fe.loc[t.index, col], rtol=1e-9, err_msg=col)
    assert ran_pars(f)["sd_herd__Intercept"] == pytest.approx(vc["herd:(Intercept)"], rel=1e-9)
    assert f.r_formula.startswith("cbind(incidence, size - incidence) ~")
    assert f.provenance["method"] == "ML (Laplace approximation)" == f.method


def test_cbpp_nagq5_and_poisson_match_glmer(cbpp, golden_dir):
    fe5, _ = _golden(golden_dir, "cbpp_glmer_nagq5.csv")
    f5 = fit("incidence | trials(size) ~ period + (1 | herd)", cbpp, "binomial", nagq=5)
    t5 = f5.tidy(effects="fixed").set_index("term")
    np.testing.assert_allclose(t5["estimate"], fe5.loc[t5.index, "estimate"], rtol=1e-9)
    np.testing.assert_allclose(t5["std_error"], fe5.loc[t5.index, "std_error"], rtol=1e-9)
    assert t5.loc["Intercept", "estimate"] != pytest.approx(-1.398343, abs=1e-4)  # not Laplace
    assert f5.provenance["details"]["nAGQ"] == 5
    fep, _ = _golden(golden_dir, "cbpp_poisson.csv")
    tp = fit("incidence ~ period + (1 | herd)", cbpp, "poisson").tidy(effects="fixed")
    tp = tp.set_index("term")
    np.testing.assert_allclose(tp["estimate"], fep.loc[tp.index, "estimate"], rtol=1e-9)
    np.testing.assert_allclose(tp["p_value"], fep.loc[tp.index, "p_value"], rtol=1e-9)


def test_fast_preset_same_estimates(cbpp):
    f = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, "binomial",
                 fast=True)
    np.testing.assert_allclose(f.tidy(effects="fixed")["estimate"],
                               [-1.398343, -0.991925, -1.128216, -1.579745], atol=1e-4)
    assert f.provenance["details"]["control"] == 'optimizer = "nloptwrap", calc.derivs = FALSE'
    assert f.warnings == []


def test_nested_and_crossed_pass_through(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "nested_crossed.csv")
    fe, vc = _golden(golden_dir, "nested_crossed_lmer.csv")
    f = fit("y ~ x + (1 | a/b) + (1 | c)", d)
    t = f.tidy(effects="fixed").set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], rtol=1e-9)
    np.testing.assert_allclose(t["p_value"], fe.loc[t.index, "p_value"], rtol=1e-7)
    sd = ran_pars(f)
    # lme4's "b:a" is brms's "a:b" (the b within a levels of (1 | a/b))
    assert sd["sd_a:b__Intercept"] == pytest.approx(vc["b:a:(Intercept)"], rel=1e-9)
    assert sd["sd_c__Intercept"] == pytest.approx(vc["c:(Intercept)"], rel=1e-9)
    assert sd["sd_a__Intercept"] == pytest.approx(vc["a:(Intercept)"], rel=1e-9)


def _singular_data():
    # each group's responses are 5 + (-1, 0, 1) in some order: all group means are 5, so the
    # between-group variance estimate is exactly 0 (a boundary, singular fit)
    e = [(-1.0, 0.0, 1.0), (0.0, 1.0, -1.0), (1.0, -1.0, 0.0)]
    y = [5.0 + v for i in range(8) for v in e[i % 3]]
    return pd.DataFrame({"y": y, "g": np.repeat([f"g{i}" for i in range(8)], 3)})


def test_singular_fit_warning_kept_and_reemitted():
    from rpy2.rinterface_lib import callbacks

    before = callbacks.consolewrite_warnerror
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        f = fit("y ~ 1 + (1 | g)", _singular_data())
    assert callbacks.consolewrite_warnerror is before  # console capture undone
    assert f.singular
    assert any("boundary (singular) fit" in w for w in f.warnings)
    assert any(issubclass(r.category, Lme4Warning) and "singular" in str(r.message)
               for r in rec)
    assert f.provenance["warnings"] == f.warnings
    assert ran_pars(f)["sd_g__Intercept"] == pytest.approx(0.0, abs=1e-6)


def test_singular_warning_survives_fast_preset():
    f = fit("y ~ 1 + (1 | g)", _singular_data(), quiet=True, fast=True)
    assert f.singular and "boundary (singular) fit: see help('isSingular')" in f.warnings


def test_convergence_warning_kept(cbpp):
    f = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, "binomial",
                 control="optimizer = 'bobyqa', optCtrl = list(maxfun = 10)", quiet=True)
    assert any(w.startswith("Model failed to converge") for w in f.warnings)
    assert not f.converged


def test_bad_input(sleep, cbpp):
    with pytest.raises(EngineError, match="no option.*'weights'"):
        fit("Reaction ~ Days + (1 | Subject)", sleep, weights="Days")
    with pytest.raises(EngineError, match=r"weights\(\.\.\.\)"):
        fit("Reaction | weights(Days) ~ Days + (1 | Subject)", sleep)
    with pytest.raises(EngineError, match="family 'student'"):
        fit("Reaction ~ Days + (1 | Subject)", sleep, "student")
    with pytest.raises(EngineError, match=r"\(1 \| p \| Subject\)"):
        fit("Reaction ~ Days + (1 | p | Subject)", sleep)
    with pytest.raises(EngineError, match="mo\\(Days\\)"):
        fit("Reaction ~ mo(Days) + (1 | Subject)", sleep)
    with pytest.raises(EngineError, match="nagq applies to glmer only"):
        fit("Reaction ~ Days + (Days | Subject)", sleep, nagq=5)
    with pytest.raises(EngineError, match="single scalar random effect"):
        fit("incidence | trials(size) ~ period + (1 | herd) + (1 | period)", cbpp,
                 "binomial", nagq=3)
    with pytest.raises(DataError, match="'Dayz'"):
        fit("Reaction ~ Dayz + (1 | Subject)", sleep)
    with pytest.raises(RError, match="lme4 failed"):
        fit("Reaction ~ Days + (1 | Subject)", sleep, control="optimizer = 'no_such_optimizer'")
