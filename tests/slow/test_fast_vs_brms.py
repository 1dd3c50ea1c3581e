"""The fast engine against brms, one brms fit per family at most.

gaussian (correlated slopes, sleepstudy) and bernoulli (nested and crossed groups) are
conftest.py's brms models with its priors and data, so their Stan programs come from the
session's compile cache when test_brms_exact.py has run (the fits here only sample: the
conftest fixtures themselves would also start the plain-R background compiles); poisson and lognormal each add
one tiny brms fit with brms's default, data-dependent priors, so the prior table the fast
engine takes from brms is exercised end to end (poisson on brms's epilepsy, whose program
test_cli_exact.py compiles). Every comparison is
:func:`pybrms.verify`: each population-level effect, group SD, correlation and sigma within 3
combined Monte Carlo standard errors of brms's posterior mean and an SD ratio within the MC
tolerance; and the fast engine's prior on every parameter is brms's ``prior_summary``'s.
"""

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import bridge
from pybrms.engines import fast
from pybrms.engines.fast import priors as fast_priors
from pybrms.spec.model import FitSpec

from .conftest import BERN_FORMULA, BERN_PRIORS, GAUSS_FORMULA, GAUSS_PRIORS

pytestmark = pytest.mark.slow

#: the fast fits are cheap on these data: long enough that their own MC error is small
OPTS = {"chains": 2, "iter": 2000, "quiet": True}


def _fast(formula, data, family, prior=None, seed=11):
    spec = FitSpec.build(formula, data, family, prior)
    return fast.fit(spec, fast.FastOptions(seed=seed, **OPTS))


def _prior_summary(brms_fit):
    return fast_priors.prior_table(
        bridge.to_pandas(bridge.call("pybrms_fast_prior_summary", brms_fit.r)))


def _assert_priors_equal(fast_fit, brms_fit):
    """Every parameter's prior (after brms's inheritance) equals brms's prior_summary's."""
    ours, theirs = fast_fit.prior, _prior_summary(brms_fit)
    md = fast_fit.model_data
    params = [("Intercept", "", "")] if md.centred else []
    params += [("b", c, "") for c in md.xnames[1 if md.centred else 0:]]
    for g in md.groups:
        params += [("sd", c, g.group) for c in g.coefs]
        if g.correlated:
            params.append(("cor", "", g.group))
    if "sigma" in fast_fit.posterior:
        params.append(("sigma", "", ""))
    for cls, coef, group in params:
        a = fast_priors.resolve(ours, cls, coef, group)
        b = fast_priors.resolve(theirs, cls, coef, group)
        assert (a.name, a.args) == (b.name, b.args), (cls, coef, group, a, b)
    return len(params)


def _assert_agree(fast_fit, brms_fit, expect):
    v = pybrms.verify(fast_fit, brms_fit)
    assert set(v.table["parameter"]) == set(expect), v.table["parameter"].tolist()
    assert v.ok, str(v)
    return v


@pytest.fixture(scope="module")
def gauss_pair(sleep_data):
    """conftest.py's gauss_fit model, data, priors and settings (the compiled program is
    shared), fitted by both engines through pybrms.fit.
    """
    return pybrms.fit(GAUSS_FORMULA, sleep_data, "gaussian", engines=["brms", "fast"],
                      prior=GAUSS_PRIORS, chains=2, iter=600, seed=1234, quiet=True,
                      engine_options={"brms": {"cores": 1, "diagnose": False}})


@pytest.fixture(scope="module")
def bern_fit(bern_data):
    """conftest.py's bern_fit model, data, priors and settings (the compiled program is shared)."""
    return pybrms.brm(BERN_FORMULA, bern_data, "bernoulli", prior=BERN_PRIORS, chains=2,
                      iter=600, seed=2024, cores=1, quiet=True, diagnose=False)


def test_gaussian_correlated_slopes(gauss_pair):
    f, gauss_fit = gauss_pair["fast"], gauss_pair["brms"]
    assert f.provenance["options"]["iter"] == 600 and f.provenance["seed"] == 1234
    v = _assert_agree(f, gauss_fit, {"b_Intercept", "b_Days", "sd_Subject__Intercept",
                                     "sd_Subject__Days", "cor_Subject__Intercept__Days",
                                     "sigma"})
    assert _assert_priors_equal(f, gauss_fit) == 6
    t = f.tidy()
    assert list(t["term"]) == ["Intercept", "Days", "sd_Subject__Intercept", "sd_Subject__Days",
                               "cor_Subject__Intercept__Days", "sigma"]
    assert (t["engine"] == "fast").all() and t["conf_low"].notna().all()
    # the lme4 answer (251.405, 10.467) is where both posteriors sit with flat-ish priors
    assert abs(t.set_index("term").loc["Days", "estimate"] - 10.467) < 0.5
    idata = f.to_arviz()
    assert idata.posterior["r_Subject"].shape[2:] == (18, 2)
    assert v.table["overlap"].min() > 0.8
    # brms's hypothesis(), from the fast draws: same table, numbers within MC error
    hb = gauss_fit.hypothesis(["Days > 10", "Intercept < 255"])
    hf = f.hypothesis(["Days > 10", "Intercept < 255"])
    assert list(hf.columns) == list(hb.columns)
    assert list(hf["Hypothesis"]) == list(hb["Hypothesis"])
    # within Monte Carlo error: a posterior probability from draws with effective size n has
    # standard error sqrt(p (1 - p) / n); allow 3 combined standard errors of the two fits
    ess = {name: [float(fit.summary().set_index("variable").loc[name, "ess_bulk"])
                  for fit in (f, gauss_fit)] for name in ("b_Days", "b_Intercept")}
    for row, name in zip(range(2), ("b_Days", "b_Intercept"), strict=True):
        p = (hf["Post.Prob"][row] + hb["Post.Prob"][row]) / 2
        se = np.sqrt(sum(p * (1 - p) / n for n in ess[name]))
        assert abs(hf["Post.Prob"][row] - hb["Post.Prob"][row]) < 3 * se, (name, se)
        # the estimate (a posterior mean) within 3 combined Monte Carlo standard errors
        sd = (hf["Est.Error"][row] + hb["Est.Error"][row]) / 2
        mcse = np.sqrt(sum(sd ** 2 / n for n in ess[name]))
        assert abs(hf["Estimate"][row] - hb["Estimate"][row]) < 3 * mcse, (name, mcse)



def test_bernoulli_nested_and_crossed(bern_fit, bern_data):
    f = _fast(BERN_FORMULA, bern_data, "bernoulli", BERN_PRIORS)
    _assert_agree(f, bern_fit, {"b_Intercept", "b_x1", "b_x2", "sd_user__Intercept",
                                "sd_user:conv__Intercept", "sd_model__Intercept"})
    assert _assert_priors_equal(f, bern_fit) == 6  # Intercept, b_x1, b_x2, three SDs
    assert f.provenance["details"]["groups"]["user:conv"]["levels"] == \
        bern_data.groupby(["user", "conv"]).ngroups


@pytest.fixture(scope="module")
def count_data():
    rng = np.random.default_rng(42)
    g = np.repeat(np.arange(8), 10)
    x = rng.normal(size=80)
    eta = 1.0 + 0.4 * x + rng.normal(0, 0.5, 8)[g]
    return pd.DataFrame({"g": [f"g{i}" for i in g], "x": x, "count": rng.poisson(np.exp(eta)),
                         "pos": np.exp(eta + rng.normal(0, 0.3, 80))})


#: poisson on brms's epilepsy example: its Stan program (the data-dependent Intercept prior
#: comes from the response) is the one tests/slow/test_cli_exact.py compiles
CASES = {"poisson": ("count ~ zAge + zBase * Trt + (1 | patient)",
                     {"b_Intercept", "b_zAge", "b_zBase", "b_Trt1", "b_zBase:Trt1",
                      "sd_patient__Intercept"}),
         "lognormal": ("pos ~ x + (1 | g)", {"b_Intercept", "b_x", "sd_g__Intercept", "sigma"})}


@pytest.mark.parametrize("family", ["poisson", "lognormal"])
def test_family_with_brms_default_priors(family, count_data):
    """brms's own defaults (data-dependent Intercept prior) in both engines."""
    formula, expect = CASES[family]
    data = pybrms.r_dataset("epilepsy", "brms") if family == "poisson" else count_data
    b = pybrms.brm(formula, data, family, chains=2, iter=1000, seed=7, quiet=True,
                   diagnose=False)
    f = _fast(formula, data, family)
    _assert_agree(f, b, expect)
    n = _assert_priors_equal(f, b)
    assert n == len(expect)
    intercept = fast_priors.resolve(f.prior, "Intercept")
    assert intercept.name == "student_t" and intercept.args[1] != 0.0  # data-dependent
