"""brms's model language through pybrms, judged by brms's own build step (no Stan compile).

In brms's own test style (``expect_match2(scode, ...)``): each model kind's generated Stan code
holds the statements that make it that kind. Bad input fails before any compile, with
brms's message naming the problem. Reference values come from brms itself in the same
session (``get_prior``) or from a separate Rscript process (``read.csv``).
"""

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import bridge
from pybrms.errors import DataError, SpecError

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def epilepsy():
    return pybrms.r_dataset("epilepsy", "brms")


@pytest.fixture(scope="module")
def inhaler():
    return pybrms.r_dataset("inhaler", "brms")


@pytest.fixture(scope="module")
def kidney():
    return pybrms.r_dataset("kidney", "brms")


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    n = 40
    return pd.DataFrame({
        "y": rng.normal(size=n), "y2": rng.normal(size=n), "x": rng.uniform(1, 5, n),
        "count": rng.poisson(2, n), "g": np.repeat(list("abcdefgh"), 5),
    })


def scode(*args, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pybrms.stancode(*args, **kwargs)


def expect_match(code: str, *fragments: str) -> None:
    squashed = " ".join(code.split())
    for frag in fragments:
        assert " ".join(frag.split()) in squashed, f"{frag!r} not in the Stan code"


def test_ordinal_families_and_category_specific_effects(inhaler):
    expect_match(scode("rating ~ period + carry + cs(treat)", inhaler, "sratio('cloglog')"),
                 "sratio_cloglog_lpmf", "matrix[N, Kcs] Xcs;", "bcs")
    expect_match(scode("rating ~ treat + (1 | subject)", inhaler,
                       "cumulative('probit', threshold = 'equidistant')"),
                 "real<lower=0> delta;", "Intercept[k] = first_Intercept + (k - 1.0) * delta",
                 "cumulative_probit_lpmf")
    # the Python builder writes the same family
    fam = pybrms.family("cumulative", "probit", threshold="equidistant")
    assert scode("rating ~ treat + (1 | subject)", inhaler, fam) == scode(
        "rating ~ treat + (1 | subject)", inhaler,
        "cumulative('probit', threshold = 'equidistant')")


def test_nonlinear_model_with_nlpar_priors(small):
    f = pybrms.bf("y ~ a * (1 - exp(-(x / b)^c))", "a ~ 1 + (1 | g)", "b ~ 1", "c ~ 1", nl=True)
    priors = [pybrms.prior("normal(1, 2)", nlpar="a"), pybrms.prior("normal(2, 1)", nlpar="b", lb=0),
              pybrms.prior("normal(1, 1)", nlpar="c", lb=0)]
    code = scode(f, small, "gaussian", prior=priors)
    expect_match(code, "vector[K_a] b_a;", "vector<lower=0>[K_b] b_b;",
                 "normal_lpdf(b_a | 1, 2)", "mu[n] = nlp_a[n] * (1 - exp( - (C_1[n] / nlp_b[n]) ^ nlp_c[n]));")
    # the same model written as R code gives the same program
    r_code = ("bf(y ~ a * (1 - exp(-(x / b)^c)), a ~ 1 + (1 | g), b ~ 1, c ~ 1, nl = TRUE)")
    assert scode(r_code, small, "gaussian", prior=priors) == code


def test_distributional_and_splines(small):
    code = scode("bf(y ~ s(x), sigma ~ s(x))", small, "gaussian")
    expect_match(code, "sigma += Intercept_sigma + Xs_sigma * bs_sigma + Zs_sigma_1_1 * s_sigma_1_1;",
                 "sigma = exp(sigma);", "real<lower=0> sds_sigma_1_1;", "normal_lpdf(Y | mu, sigma)")
    zi = scode(pybrms.bf("count ~ x + (1 | g)", "zi ~ x"), small,
               "zero_inflated_negbinomial()")
    expect_match(zi, "zero_inflated_neg_binomial_log_logit_lpmf(Y[n] | mu[n], shape, zi[n]);",
                 "zi += Intercept_zi + Xc_zi * b_zi;")


def test_censoring_and_survival_families(kidney):
    code = scode("time | cens(censored) ~ age * sex + disease + (1 + age | patient)", kidney,
                 "weibull()")
    expect_match(code, "int<lower=-1,upper=2> cens[N];",
                 "target += weibull_lccdf(Y[n] | shape, mu[n] / tgamma(1 + 1 / shape));",
                 "target += weibull_lpdf(Y[n] | shape, mu[n] / tgamma(1 + 1 / shape));")


def test_multivariate_with_residual_correlation(small):
    f = pybrms.bf("mvbind(y, y2) ~ x + (1 | p | g)") + pybrms.set_rescor(True)
    code = scode(f, small, "gaussian")
    expect_match(code, "cholesky_factor_corr[nresp] Lrescor;", "multi_normal_cholesky_lpdf(Y | Mu, LSigma)",
                 "vector[N_y] mu_y", "vector[N_y2] mu_y2")
    assert scode("bf(mvbind(y, y2) ~ x + (1 | p | g)) + set_rescor(TRUE)", small) == code


def test_missing_values_modelled_with_mi(small):
    d = small.assign(x=small["x"].where(small.index % 7 != 0))
    f = pybrms.bf("y ~ mi(x)") + pybrms.bf("x | mi() ~ 1") + pybrms.set_rescor(False)
    expect_match(scode(f, d), "vector[Nmi_x] Ymi_x;", "Yl_x[Jmi_x] = Ymi_x;")
    with pytest.raises(DataError, match="column 'x' has 6 missing value"):
        scode("y ~ x", d)
    with pytest.raises(DataError, match="'x' is modelled as missing with mi\\(\\) but has no"):
        scode(f, small)


def test_prior_constants_as_stanvars_keep_one_program(small):
    pri = pybrms.prior("normal(0, prior_sd)", class_="b")
    c1 = scode("y ~ x", small, prior=pri, stanvars={"prior_sd": 1.0})
    c10 = scode("y ~ x", small, prior=pri, stanvars={"prior_sd": 10.0})
    assert c1 == c10
    expect_match(c1, "real prior_sd;", "normal_lpdf(b | 0, prior_sd)")
    sd = pybrms.standata("y ~ x", small, prior=pri, stanvars={"prior_sd": 10.0})
    assert sd["prior_sd"] == 10.0 and sd["N"] == 40
    np.testing.assert_array_equal(sd["Y"], small["y"].to_numpy())


def test_brm_arguments_with_r_meaning(small):
    code = scode("y ~ x", small, prior=pybrms.prior("normal(0, 3)"), sample_prior=True,
                 save_pars=pybrms.save_pars(all=True))
    expect_match(code, "real prior_b = normal_rng(0,3);")  # sample_prior = TRUE, brms's logical
    custom = pybrms.stanvar(scode="real my_constant = 2;", block="tdata")
    expect_match(scode("y ~ x", small, stanvars=custom), "real my_constant = 2;")
    expect_match(scode("y ~ x", small, stanvars=pybrms.R('stanvar(scode = "real k2 = 3;", '
                                                          'block = "tdata")')), "real k2 = 3;")


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(family="bernouli"), "bernouli is not a supported family"),
    (dict(formula="bf(y ~ x, foo ~ x)"), "'foo' is not a valid distributional or non-linear"),
    (dict(prior=pybrms.prior("normal(0, 1)", class_="b", coef="z")),
     "priors do not correspond to any model parameter"),
    (dict(formula="bf(y ~ a * exp(b * x), a ~ 1, b ~ 1, nl = TRUE)"),
     "Priors on population-level coefficients are required in non-linear models"),
    (dict(formula="bf(y ~ x + zz)"), "'zz'"),
    (dict(family="cumulative('nolink')"), "nolink"),
])
def test_bad_input_fails_in_the_build_step_with_brms_message(small, kwargs, fragment):
    from pybrms.cache import get_cache

    compiles = get_cache().stats.compiles
    formula = kwargs.pop("formula", "y ~ x")
    with pytest.raises(SpecError, match="brms refused the model") as info:
        pybrms.brm(formula, small, quiet=True, **{"family": "gaussian", **kwargs})
    assert fragment in str(info.value)
    assert "in brm(" in str(info.value)  # the call is named
    assert get_cache().stats.compiles == compiles  # nothing compiled


def test_get_prior_is_brms_get_prior(epilepsy, tmp_path):
    ours = pybrms.get_prior("count ~ zAge + zBase * Trt + (1 | patient)", epilepsy, "poisson")
    ro = bridge.load_rpy2()
    theirs = bridge.to_pandas(ro.r('as.data.frame(brms::get_prior(count ~ zAge + zBase * Trt + '
                                   '(1 | patient), data = brms::epilepsy, family = poisson()))'))
    pd.testing.assert_frame_equal(ours, theirs)
    assert list(ours.columns[:9]) == ["prior", "class", "coef", "group", "resp", "dpar",
                                      "nlpar", "lb", "ub"]
    assert pybrms.default_prior is pybrms.get_prior
    used = pybrms.validate_prior("count ~ zAge + (1 | patient)", epilepsy, "poisson",
                                 prior=pybrms.prior("normal(0, 2)", class_="b"))
    row = used[(used["class"] == "b") & (used["coef"] == "")]
    assert row["prior"].tolist() == ["normal(0, 2)"] and row["source"].tolist() == ["user"]


def test_read_csv_is_bit_equal_to_r_read_csv(tmp_path):
    """brms's epilepsy written by write.csv: pandas' default parser differs from R's in the
    last bit of some zBase values; pybrms.read_csv gives R's doubles exactly."""
    path, ref = tmp_path / "epilepsy.csv", tmp_path / "ref.rds"
    subprocess.run(["Rscript", "-e",
                    f'e <- brms::epilepsy; write.csv(e, "{path}", row.names = FALSE); '
                    f'saveRDS(read.csv("{path}"), "{ref}")'], check=True, capture_output=True)
    pandas_default = pd.read_csv(path)
    ours = pybrms.read_csv(path)
    theirs = pybrms.read_rds(ref)  # what the R script's read.csv gave, saved by R
    assert (pandas_default["zBase"].to_numpy() != theirs["zBase"].to_numpy()).sum() > 0
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours["zBase"].to_numpy().tobytes() == theirs["zBase"].to_numpy().tobytes()
    assert ours["count"].dtype == np.int32  # R's integer type kept
    # the round trip back to R is exact too: R compares the frames with identical()
    ro = bridge.load_rpy2()
    assert bool(ro.r["identical"](bridge.to_r(ours), ro.r(f'read.csv("{path}")'))[0])


def test_read_csv_keeps_r_types_and_missing_values(tmp_path):
    path = tmp_path / "na.csv"
    subprocess.run(["Rscript", "-e", 'd <- data.frame(l = c(TRUE, NA, FALSE), i = c(1L, NA, 3L), '
                    f'f = c(1.5, NA, 2), s = c("a", NA, "b")); write.csv(d, "{path}", '
                    'row.names = FALSE)'], check=True, capture_output=True)
    d = pybrms.read_csv(path)
    assert str(d["l"].dtype) == "boolean" and str(d["i"].dtype) == "Int32"
    assert d.isna().sum().tolist() == [1, 1, 1, 1]
    ro = bridge.load_rpy2()
    assert bool(ro.r["identical"](bridge.to_r(d), ro.r(f'read.csv("{path}")'))[0])
    with pytest.raises(DataError, match="does not exist"):
        pybrms.read_csv(tmp_path / "nope.csv")


def test_custom_family_with_stan_functions_in_stanvars():
    """brms's custom-families vignette: a beta-binomial family defined by the user."""
    cbpp = pybrms.r_dataset("cbpp", "lme4")
    beta_binomial2 = pybrms.custom_family(
        "beta_binomial2", dpars=["mu", "phi"], links=["logit", "log"], lb=[0, 0],
        ub=[1, None], type="int", vars="vint1[n]")
    stan_funs = """
      real beta_binomial2_lpmf(int y, real mu, real phi, int T) {
        return beta_binomial_lpmf(y | T, mu * phi, (1 - mu) * phi);
      }
      int beta_binomial2_rng(real mu, real phi, int T) {
        return beta_binomial_rng(T, mu * phi, (1 - mu) * phi);
      }
    """
    code = scode("incidence | vint(size) ~ period + (1|herd)", cbpp, beta_binomial2,
                 stanvars=pybrms.stanvar(scode=stan_funs, block="functions"))
    expect_match(code, "real beta_binomial2_lpmf(int y, real mu, real phi, int T)",
                 "target += beta_binomial2_lpmf(Y[n] | mu[n], phi, vint1[n]);",
                 "real<lower=0> phi;")
