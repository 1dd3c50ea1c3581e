"""Six model kinds beyond one formula, fitted through pybrms.brm as an R user writes them, and
proved bit-identical to plain ``Rscript`` running the same ``brm()`` call
(tests/golden/brms/kinds.R): ordinal with category-specific effects, non-linear with priors on
``nlpar``, censored survival (weibull), zero-inflated with a distributional predictor and data
read from a CSV whose values pandas parses differently, multivariate with residual
correlations. The plain-R fits run in background processes while pybrms fits.
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
KINDS = ("ordinal", "nonlinear", "censored", "zinb_csv", "multivariate")
RUN = dict(chains=2, iter=300, cores=1, quiet=True, diagnose=False)


@pytest.fixture(scope="module")
def epilepsy_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kinds_data") / "epilepsy.csv"
    subprocess.run(["Rscript", "-e", f'write.csv(brms::epilepsy, "{path}", row.names = FALSE)'],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def plain_kinds(tmp_path_factory, epilepsy_csv):
    out = tmp_path_factory.mktemp("kinds_r")
    procs = {}
    for kind in KINDS:
        log = open(out / f"{kind}.log", "w")  # noqa: SIM115
        procs[kind] = subprocess.Popen(["Rscript", str(KINDS_R), str(out), kind, str(epilepsy_csv)],
                                       stdout=log, stderr=subprocess.STDOUT)

    def result(kind: str) -> pd.DataFrame:
        rc = procs[kind].wait(timeout=1800)
        assert rc == 0, (out / f"{kind}.log").read_text()[-3000:]
        return bridge.to_pandas(bridge.call("pybrms_read_rds", str(out / f"{kind}_draws.rds")))

    yield result
    for p in procs.values():
        if p.poll() is None:
            p.kill()


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
