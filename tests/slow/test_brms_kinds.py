"""Six model kinds beyond one formula, fitted through pybrms.brm as an R user writes them, and
proved bit-identical to plain ``Rscript`` running the same ``brm()`` call
(tests/golden/brms/kinds.R): ordinal with category-specific effects, non-linear with priors on
``nlpar``, censored survival (weibull), zero-inflated with a distributional predictor and data
read from a CSV whose values pandas parses differently, multivariate with residual
correlations. The plain-R fits run in background processes while pybrms fits (only those of
the tests selected, each starting with the test before it).

The ordinal and multivariate fits then go through predictions against R's own: golden files
tests/golden/post/kinds_*.csv, written by tests/golden/post/make_golden_kinds.R (the same
brm() calls in plain Rscript; R 4.2.2, brms 2.18.0, rstan 2.21.7): fitted/predict summaries in
their long form, posterior_epred, posterior_predict and log_lik as ArviZ groups.
"""

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import bridge

pytestmark = pytest.mark.slow

KINDS_R = Path(__file__).resolve().parent.parent / "golden" / "brms" / "kinds.R"
POST = Path(__file__).resolve().parent.parent / "golden" / "post"
KINDS = {"test_ordinal_category_specific": "ordinal",
         "test_nonlinear_with_nlpar_priors": "nonlinear",
         "test_censored_weibull": "censored",
         "test_zero_inflated_distributional_from_csv_path": "zinb_csv",
         "test_multivariate_residual_correlation": "multivariate"}
RUN = dict(chains=2, iter=300, cores=1, quiet=True, diagnose=False)
STATS = ["Estimate", "Est.Error", "Q2.5", "Q97.5"]
DRAW_IDS = [1, 150, 300]


def golden(name: str) -> pd.DataFrame:
    return pd.read_csv(POST / f"{name}.csv", float_precision="round_trip")


def _same_fit_as_golden(fit, name: str) -> None:
    """The golden script's fit is this fit (else: regenerate the golden files)."""
    sums = golden(name).set_index("variable")["sum"]
    np.testing.assert_allclose(fit.draws()[sums.index].sum().to_numpy(), sums.to_numpy(),
                               rtol=1e-12)


@pytest.fixture(scope="module")
def epilepsy_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kinds_data") / "epilepsy.csv"
    subprocess.run(["Rscript", "-e", f'write.csv(brms::epilepsy, "{path}", row.names = FALSE)'],
                   check=True, capture_output=True)
    return path


class PlainKinds:
    """The plain-R fits (kinds.R), each in a background ``Rscript``."""

    def __init__(self, out: Path, csv: Path, order: list[str]) -> None:
        self.out, self.csv, self.order = out, csv, order
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, kind: str) -> None:
        if kind not in self.procs:
            log = open(self.out / f"{kind}.log", "w")  # noqa: SIM115
            self.procs[kind] = subprocess.Popen(
                ["Rscript", str(KINDS_R), str(self.out), kind, str(self.csv)],
                stdout=log, stderr=subprocess.STDOUT)

    def start_with_next(self, kind: str) -> None:
        """Start ``kind``'s plain-R fit and the next selected test's: on 2 cores one Rscript
        compiles beside each pybrms compile, and neither core waits (all five at once left
        one core idle for the last pybrms compiles)."""
        self.start(kind)
        i = self.order.index(kind)
        if i + 1 < len(self.order):
            self.start(self.order[i + 1])

    def __call__(self, kind: str) -> pd.DataFrame:
        self.start(kind)
        rc = self.procs[kind].wait(timeout=1800)
        assert rc == 0, (self.out / f"{kind}.log").read_text()[-3000:]
        return bridge.to_pandas(bridge.call("pybrms_read_rds",
                                            str(self.out / f"{kind}_draws.rds")))

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()


@pytest.fixture(scope="module")
def plain_kinds(request, tmp_path_factory, epilepsy_csv):
    order = [KINDS[item.originalname] for item in request.session.items
             if getattr(item, "module", None) is request.module and item.originalname in KINDS]
    kinds = PlainKinds(tmp_path_factory.mktemp("kinds_r"), epilepsy_csv, order)
    yield kinds
    kinds.close()


@pytest.fixture(autouse=True)
def _plain_fit_alongside(request, plain_kinds):
    """Each test's plain-R fit starts as the test does (with the next one's), so it runs
    while pybrms compiles and fits."""
    kind = KINDS.get(request.node.originalname)
    if kind is not None:
        plain_kinds.start_with_next(kind)


def _identical(py: pd.DataFrame, r: pd.DataFrame) -> None:
    assert list(py.columns) == list(r.columns)
    a, b = py.to_numpy(float), r.to_numpy(float)
    assert a.shape == b.shape == (300, a.shape[1])
    diff = np.argwhere(a != b)
    assert diff.size == 0, f"{len(diff)} draws differ, first at {diff[:3].tolist()}"


def test_ordinal_category_specific(plain_kinds):
    inhaler = pybrms.r_dataset("inhaler", "brms")
    fit = pybrms.brm("rating ~ period + carry + cs(treat)", inhaler, "sratio('cloglog')",
                     seed=11, **RUN)
    draws = fit.draws()
    assert {"bcs_treat[1]", "b_Intercept[3]"} <= set(draws.columns)
    _identical(draws, plain_kinds("ordinal"))
    _same_fit_as_golden(fit, "kinds_ordinal_draws_colsums")
    # fitted(): brms's observations x statistics x categories, one block per category
    f = fit.fitted()
    assert list(f.columns) == ["category", "obs", *STATS] and len(f) == 572 * 4
    assert f["category"].unique().tolist() == ["1", "2", "3", "4"]
    r = golden("kinds_ordinal_fitted_rows")
    r["category"] = r["category"].str.extract(r"^P\(Y = (.*)\)$", expand=False)
    mine = f.set_index(["category", "obs"]).loc[list(zip(r["category"], r["obs"], strict=True))]
    np.testing.assert_array_equal(mine[STATS].to_numpy(), r[STATS].to_numpy())
    # the category probabilities of each observation sum to 1
    np.testing.assert_allclose(f.groupby("obs")["Estimate"].sum(), 1.0, rtol=1e-12)
    # predict(): brms's table of predicted category probabilities, as R prints it
    p = fit.predict(seed=21)
    rp = golden("kinds_ordinal_predict_seed21_rows")
    assert list(p.columns) == ["P(Y = 1)", "P(Y = 2)", "P(Y = 3)", "P(Y = 4)"]
    np.testing.assert_array_equal(p.iloc[r["obs"].unique()].to_numpy(), rp.to_numpy())
    idata = fit.to_arviz(posterior_predictive=True, log_likelihood=True, epred=True, seed=21)
    epred = idata.posterior["epred"]
    assert epred.dims == ("chain", "draw", "obs", "category")
    assert epred["category"].values.tolist() == ["1", "2", "3", "4"]
    re = golden("kinds_ordinal_epred_draws_rows")
    flat = epred.values.reshape(300, 572, 4)
    got = [flat[d - 1, o, int(c) - 1] for d, o, c in zip(re["draw"], re["obs"], re["category"],
                                                          strict=True)]
    np.testing.assert_array_equal(got, re["epred"].to_numpy())
    # posterior_predictive: category numbers; predict()'s probabilities are their shares
    yrep = idata.posterior_predictive["y"].values.reshape(300, 572)
    assert set(np.unique(yrep)) <= {1, 2, 3, 4}
    share = np.stack([(yrep == k).mean(axis=0) for k in (1, 2, 3, 4)], axis=1)
    np.testing.assert_allclose(share, p.to_numpy(), rtol=1e-12)
    assert set(np.unique(idata.observed_data["y"].values)) == {1, 2, 3, 4}
    assert idata.log_likelihood["y"].dims == ("chain", "draw", "obs")


def test_nonlinear_with_nlpar_priors(plain_kinds):
    loss = pybrms.r_dataset("loss", "brms")
    nlform = pybrms.bf("cum ~ ult * (1 - exp(-(dev/theta)^omega))",
                       "ult ~ 1 + (1|AY)", "omega ~ 1", "theta ~ 1", nl=True)
    nlprior = [pybrms.prior("normal(5000, 1000)", nlpar="ult"),
               pybrms.prior("normal(1, 2)", nlpar="omega"),
               pybrms.prior("normal(45, 10)", nlpar="theta")]
    fit = pybrms.brm(nlform, loss, "gaussian()", prior=nlprior,
                     control={"adapt_delta": 0.9}, seed=12, **RUN)
    draws = fit.draws()
    assert {"b_ult_Intercept", "b_omega_Intercept", "sd_AY__ult_Intercept"} <= set(draws.columns)
    _identical(draws, plain_kinds("nonlinear"))


def test_censored_weibull(plain_kinds):
    kidney = pybrms.r_dataset("kidney", "brms")
    fit = pybrms.brm("time | cens(censored) ~ age * sex + disease + (1 + age | patient)", kidney,
                     "weibull()", init="0", seed=13, **RUN)
    assert "cor_patient__Intercept__age" in fit.draws().columns
    _identical(fit.draws(), plain_kinds("censored"))


def test_zero_inflated_distributional_from_csv_path(plain_kinds, epilepsy_csv):
    """data= a CSV path: R reads it as the script does, so draws match even though pandas'
    default parser gives 4 zBase values that differ from R's in the last bit."""
    assert (pd.read_csv(epilepsy_csv)["zBase"].to_numpy()
            != pybrms.read_csv(epilepsy_csv)["zBase"].to_numpy()).sum() > 0
    fit = pybrms.brm("bf(count ~ zAge + zBase * Trt + (1 | patient), zi ~ Trt)", str(epilepsy_csv),
                     "zero_inflated_poisson()", sample_prior=True, seed=14, **RUN)
    draws = fit.draws()
    assert {"b_zi_Trt", "prior_Intercept_zi"} <= set(draws.columns)
    _identical(draws, plain_kinds("zinb_csv"))


def test_multivariate_residual_correlation(plain_kinds):
    iris = pybrms.r_dataset("iris", "datasets")
    f = (pybrms.bf("mvbind(Sepal.Length, Petal.Length) ~ Sepal.Width + (1|p|Species)")
         + pybrms.set_rescor(True))
    fit = pybrms.brm(f, iris, seed=15, **RUN)
    draws = fit.draws()
    assert {"rescor__SepalLength__PetalLength",
            "cor_Species__SepalLength_Intercept__PetalLength_Intercept"} <= set(draws.columns)
    _identical(draws, plain_kinds("multivariate"))
    _same_fit_as_golden(fit, "kinds_mv_draws_colsums")
    # fitted() and predict(): observations x statistics x responses, one block per response
    f = fit.fitted()
    assert list(f.columns) == ["resp", "obs", *STATS]
    assert f["resp"].unique().tolist() == ["SepalLength", "PetalLength"] and len(f) == 300
    pd.testing.assert_frame_equal(f, golden("kinds_mv_fitted"), check_exact=True,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(fit.predict(seed=22), golden("kinds_mv_predict_seed22"),
                                  check_exact=True, check_dtype=False)
    assert fit.fitted(summary=False).shape == (300, 150, 2)
    idata = fit.to_arviz(posterior_predictive=True, log_likelihood=True, epred=True, seed=23)
    y = idata.observed_data["y"]
    assert y.dims == ("obs", "resp") and y["resp"].values.tolist() == ["SepalLength", "PetalLength"]
    np.testing.assert_array_equal(y.values, iris[["Sepal.Length", "Petal.Length"]].to_numpy())
    assert idata.attrs["response"] == "Sepal.Length, Petal.Length"
    pp = idata.posterior_predictive["y"]
    assert pp.dims == ("chain", "draw", "obs", "resp")
    sums = golden("kinds_mv_predict_draws_seed23_sums")
    for resp in ("SepalLength", "PetalLength"):
        np.testing.assert_allclose(pp.sel(resp=resp).sum(("chain", "draw")).values,
                                   sums.loc[sums["resp"] == resp, "sum"].to_numpy(), rtol=1e-12)
        # epred's mean over draws is fitted()'s Estimate
        np.testing.assert_allclose(
            idata.posterior["epred"].sel(resp=resp).mean(("chain", "draw")).values,
            f.loc[f["resp"] == resp, "Estimate"].to_numpy(), rtol=1e-12)
    ll = idata.log_likelihood["y"]  # rescor: one joint log-likelihood per observation
    assert ll.dims == ("chain", "draw", "obs")
    np.testing.assert_array_equal(ll.values.reshape(300, 150)[np.array(DRAW_IDS) - 1],
                                  golden("kinds_mv_log_lik_draws").to_numpy(float))
