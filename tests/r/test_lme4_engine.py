"""The lme4 engine (pymer4 0.8.2) against lme4's own numbers.

Reference files: tests/golden/lme4/*.csv, written by tests/golden/lme4/make_golden.R
(2026-11-22, R 4.2.2, lme4 1.1-31, lmerTest 3.1-3) in a plain Rscript process.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from pybrms.engines import lme4
from pybrms.errors import DataError, EngineError, RError

from .conftest import lme4_golden

pytestmark = pytest.mark.r


_golden = lme4_golden


@pytest.fixture(scope="module")
def sleep(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "sleepstudy.csv")
    d["Subject"] = d["Subject"].astype(str)
    return d


@pytest.fixture(scope="module")
def cbpp(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "cbpp.csv")
    d["herd"] = d["herd"].astype(str)
    d["period"] = d["period"].astype(str)  # a factor, as in R
    return d


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return lme4.fit("Reaction ~ Days + (Days | Subject)", sleep)


def test_sleepstudy_matches_lme4(sleep_fit, golden_dir):
    fe, vc = _golden(golden_dir, "sleepstudy_lmer.csv")
    t = sleep_fit.tidy().set_index("term")
    assert list(t.index) == ["Intercept", "Days"]
    assert t.loc["Intercept", "estimate"] == pytest.approx(251.405105, abs=5e-7)
    assert t.loc["Days", "estimate"] == pytest.approx(10.467286, abs=5e-7)
    for col in ("estimate", "std_error", "statistic", "p_value"):
        np.testing.assert_allclose(t[col], fe.loc[t.index, col], rtol=1e-7, err_msg=col)
    sd = sleep_fit.ranef_sd
    np.testing.assert_allclose(sd["sd"], [vc["Subject:(Intercept)"], vc["Subject:Days"],
                                          vc["Residual:"]], rtol=1e-6)
    assert sleep_fit.warnings == []
    p = sleep_fit.provenance
    assert p["method"] == "REML" and p["function"] == "lmerTest::lmer"
    assert p["versions"]["lme4"] == "1.1.31" and p["versions"]["pymer4"] == "0.8.2"
    assert {"R", "lmerTest"} <= set(p["versions"])


def test_tidy_wald_interval_at_conf_level(sleep_fit):
    t95 = sleep_fit.tidy().set_index("term")
    t90 = sleep_fit.tidy(conf_level=0.90).set_index("term")
    # pymer4's own Wald 95% interval (R's confint(method = "Wald")) equals ours
    np.testing.assert_allclose(t95["conf_low"], sleep_fit.coefs["2.5_ci"], rtol=1e-9)
    np.testing.assert_allclose(t95["conf_high"], sleep_fit.coefs["97.5_ci"], rtol=1e-9)
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
    f = lme4.fit(formula, cbpp, "binomial")
    t = f.tidy().set_index("term")
    assert list(t.index) == ["Intercept", "period2", "period3", "period4"]
    np.testing.assert_allclose(t["estimate"], [-1.398343, -0.991925, -1.128216, -1.579745],
                               atol=5e-7)
    # herd levels reach R sorted as strings ("1", "10", "11", ...) rather than 1..15, so
    # glmer's optimizer stops at a point ~1e-6 away: p-values agree to 1e-4 relative
    for col, rtol in (("estimate", 1e-5), ("std_error", 1e-5), ("statistic", 1e-5),
                      ("p_value", 1e-4)):
        np.testing.assert_allclose(t[col], fe.loc[t.index, col], rtol=rtol, err_msg=col)
    assert f.ranef_sd["sd"].iloc[0] == pytest.approx(vc["herd:(Intercept)"], rel=1e-5)
    assert f.r_formula.startswith("cbind(incidence, size - incidence) ~")
    assert f.provenance["method"] == "ML (Laplace approximation)"


def test_cbpp_nagq5_and_poisson_match_glmer(cbpp, golden_dir):
    fe5, _ = _golden(golden_dir, "cbpp_glmer_nagq5.csv")
    f5 = lme4.fit("incidence | trials(size) ~ period + (1 | herd)", cbpp, "binomial", nAGQ=5)
    t5 = f5.tidy().set_index("term")
    np.testing.assert_allclose(t5["estimate"], fe5.loc[t5.index, "estimate"], rtol=1e-5)
    np.testing.assert_allclose(t5["std_error"], fe5.loc[t5.index, "std_error"], rtol=1e-5)
    assert t5.loc["Intercept", "estimate"] != pytest.approx(-1.398343, abs=1e-4)  # not Laplace
    assert f5.provenance["nAGQ"] == 5
    fep, _ = _golden(golden_dir, "cbpp_poisson.csv")
    tp = lme4.fit("incidence ~ period + (1 | herd)", cbpp, "poisson").tidy().set_index("term")
    np.testing.assert_allclose(tp["estimate"], fep.loc[tp.index, "estimate"], rtol=1e-5)
    np.testing.assert_allclose(tp["p_value"], fep.loc[tp.index, "p_value"], rtol=1e-4)


def test_fast_preset_same_estimates(cbpp):
    f = lme4.fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, "binomial",
                 fast=True)
    np.testing.assert_allclose(f.tidy()["estimate"], [-1.398343, -0.991925, -1.128216, -1.579745],
                               atol=1e-4)
    assert f.provenance["control"] == 'optimizer = "nloptwrap", calc.derivs = FALSE'
    assert f.warnings == []


def test_nested_and_crossed_pass_through(golden_dir):
    d = pd.read_csv(golden_dir / "lme4" / "nested_crossed.csv")
    fe, vc = _golden(golden_dir, "nested_crossed_lmer.csv")
    f = lme4.fit("y ~ x + (1 | a/b) + (1 | c)", d)
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t["estimate"], fe.loc[t.index, "estimate"], rtol=1e-7)
    np.testing.assert_allclose(t["p_value"], fe.loc[t.index, "p_value"], rtol=1e-5)
    sd = f.ranef_sd.set_index("group")["sd"]
    assert sd["b:a"] == pytest.approx(vc["b:a:(Intercept)"], rel=1e-6)
    assert sd["c"] == pytest.approx(vc["c:(Intercept)"], rel=1e-6)


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
        f = lme4.fit("y ~ 1 + (1 | g)", _singular_data())
    assert callbacks.consolewrite_warnerror is before  # pymer4's swap undone
    assert f.singular
    assert any("boundary (singular) fit" in w for w in f.warnings)
    assert any(issubclass(r.category, lme4.Lme4Warning) and "singular" in str(r.message)
               for r in rec)
    assert f.provenance["warnings"] == f.warnings
    assert f.ranef_sd.set_index("group").loc["g", "sd"] == pytest.approx(0.0, abs=1e-6)


def test_singular_warning_survives_fast_preset():
    f = lme4.fit("y ~ 1 + (1 | g)", _singular_data(), quiet=True, fast=True)
    assert f.singular and "boundary (singular) fit: see help('isSingular')" in f.warnings


def test_convergence_warning_kept(cbpp):
    f = lme4.fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, "binomial",
                 control="optimizer = 'bobyqa', optCtrl = list(maxfun = 10)", quiet=True)
    assert any(w.startswith("Model failed to converge") for w in f.warnings)


def test_bad_input(sleep, cbpp):
    with pytest.raises(EngineError, match="weights"):
        lme4.fit("Reaction ~ Days + (1 | Subject)", sleep, weights="Days")
    with pytest.raises(EngineError, match=r"weights\(\.\.\.\)"):
        lme4.fit("Reaction | weights(Days) ~ Days + (1 | Subject)", sleep)
    with pytest.raises(EngineError, match="family 'student'"):
        lme4.fit("Reaction ~ Days + (1 | Subject)", sleep, "student")
    with pytest.raises(EngineError, match=r"\(1 \| p \| Subject\)"):
        lme4.fit("Reaction ~ Days + (1 | p | Subject)", sleep)
    with pytest.raises(EngineError, match="mo\\(Days\\)"):
        lme4.fit("Reaction ~ mo(Days) + (1 | Subject)", sleep)
    with pytest.raises(EngineError, match="nAGQ applies to glmer only"):
        lme4.fit("Reaction ~ Days + (Days | Subject)", sleep, nAGQ=5)
    with pytest.raises(EngineError, match="single scalar random effect"):
        lme4.fit("incidence | trials(size) ~ period + (1 | herd) + (1 | period)", cbpp,
                 "binomial", nAGQ=3)
    with pytest.raises(DataError, match="'Dayz'"):
        lme4.fit("Reaction ~ Dayz + (1 | Subject)", sleep)
    with pytest.raises(RError, match="lme4 failed"):
        lme4.fit("Reaction ~ Days + (1 | Subject)", sleep, control="optimizer = 'no_such_optimizer'")
