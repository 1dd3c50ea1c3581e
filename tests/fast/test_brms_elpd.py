"""R's LOO/WAIC tables as ArviZ ELPDData, and the checks pybrms.loo_compare and fit.loo() make
before R is called. No R: the tables are built here in the layout R's pybrms_loo_table and
pybrms_waic return (tests/r/test_loo_r.py checks them against R's loo package)."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.engines.brms import BrmsFit
from pybrms.engines.brms.elpd import GOOD_K, loo_elpd_data, r_parts, waic_elpd_data
from pybrms.errors import PybrmsError

RNG = np.random.default_rng(7)


def loo_table(elpd_i: np.ndarray, p_i: np.ndarray, k: np.ndarray, n_samples: int = 400) -> dict:
    n = len(elpd_i)

    def est(x):
        return float(x.sum()), float(np.sqrt(n * np.var(x, ddof=1)))

    rows = {"elpd_loo": est(elpd_i), "p_loo": est(p_i), "looic": est(-2 * elpd_i)}
    return {
        "estimates": pd.DataFrame({"metric": list(rows), "Estimate": [v[0] for v in rows.values()],
                                   "SE": [v[1] for v in rows.values()]}),
        "pointwise": pd.DataFrame({"elpd_loo": elpd_i, "mcse_elpd_loo": 0.01, "p_loo": p_i,
                                   "looic": -2 * elpd_i, "influence_pareto_k": k}),
        "pareto_k": k, "n_samples": n_samples,
    }


def waic_table(elpd_i: np.ndarray, p_i: np.ndarray) -> dict:
    t = loo_table(elpd_i, p_i, np.zeros_like(elpd_i))
    t["estimates"]["metric"] = ["elpd_waic", "p_waic", "waic"]
    t["pointwise"] = pd.DataFrame({"elpd_waic": elpd_i, "p_waic": p_i, "waic": -2 * elpd_i})
    t["n_high_p_waic"] = int((p_i > 0.4).sum())
    return t


def two_models(n: int = 60):
    base = RNG.normal(-3, 0.5, size=n)
    a = loo_elpd_data(loo_table(base, RNG.uniform(0, 0.1, n), RNG.uniform(0, 0.6, n)))
    b = loo_elpd_data(loo_table(base - RNG.uniform(0, 0.2, n), RNG.uniform(0, 0.1, n),
                                np.r_[0.9, RNG.uniform(0, 0.6, n - 1)]))
    return base, a, b


def test_loo_elpd_data_holds_rs_numbers_in_arviz_layout():
    elpd_i = RNG.normal(-3, 0.5, size=40)
    p_i = RNG.uniform(0, 0.1, size=40)
    k = RNG.uniform(-0.1, 0.6, size=40)
    table = loo_table(elpd_i, p_i, k)
    e = loo_elpd_data(table)
    assert isinstance(e, az.ELPDData)
    assert list(e.index[:10]) == ["elpd_loo", "se", "p_loo", "n_samples", "n_data_points",
                                  "warning", "loo_i", "pareto_k", "scale", "good_k"]
    est = table["estimates"].set_index("metric")
    assert e["elpd_loo"] == est.loc["elpd_loo", "Estimate"] and e["se"] == est.loc["elpd_loo", "SE"]
    assert e["p_loo"] == est.loc["p_loo", "Estimate"] and e["se_p_loo"] == est.loc["p_loo", "SE"]
    np.testing.assert_array_equal(e["loo_i"].values, elpd_i)
    np.testing.assert_array_equal(e["pareto_k"].values, k)
    assert e["loo_i"].dims == ("obs",) and e["n_samples"] == 400 and e["n_data_points"] == 40
    assert e["scale"] == "log" and e["good_k"] == GOOD_K == 0.7 and not e["warning"]
    assert "elpd_loo" in str(e) and "Pareto k" in str(e)  # ArviZ prints it
    k[3] = 0.75
    assert loo_elpd_data(loo_table(elpd_i, p_i, k))["warning"]


def test_waic_elpd_data_and_its_warning():
    elpd_i = RNG.normal(-3, 0.5, size=30)
    p_i = RNG.uniform(0, 0.1, size=30)
    e = waic_elpd_data(waic_table(elpd_i, p_i))
    assert list(e.index[:8]) == ["elpd_waic", "se", "p_waic", "n_samples", "n_data_points",
                                 "warning", "waic_i", "scale"]
    np.testing.assert_array_equal(e["waic_i"].values, elpd_i)
    assert not e["warning"]
    p_i[0] = 0.5
    assert waic_elpd_data(waic_table(elpd_i, p_i))["warning"]


def test_arviz_compare_takes_them():
    base, a, b = two_models()
    cmp = az.compare({"a": a, "b": b})
    assert list(cmp.index) == ["a", "b"]
    diff = a["loo_i"].values - b["loo_i"].values
    assert cmp.loc["b", "elpd_diff"] == pytest.approx(diff.sum(), rel=1e-12)
    assert cmp.loc["b", "dse"] == pytest.approx(np.sqrt(len(diff) * np.var(diff)), rel=1e-12)
    assert cmp.loc["a", "elpd_loo"] == a["elpd_loo"] and cmp.loc["b", "warning"]


def test_r_parts_carry_what_loo_compare_reads():
    base, a, b = two_models()
    parts = r_parts(a)
    assert parts["kind"] == "loo" and parts["elpd"] == a["elpd_loo"]
    assert parts["se_p"] == a["se_p_loo"] and parts["n_samples"] == 400
    np.testing.assert_array_equal(parts["elpd_i"], base)
    idata = az.from_dict(posterior={"mu": RNG.normal(size=(2, 100))},
                         log_likelihood={"y": RNG.normal(-1, 0.1, size=(2, 100, 8))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = az.loo(idata, pointwise=True)
    with pytest.raises(PybrmsError, match="not made by pybrms.*arviz.compare"):
        r_parts(theirs)
    with pytest.raises(PybrmsError, match="log scale"):
        r_parts(az.loo(idata, pointwise=True, scale="deviance"))


class NoSavePars(BrmsFit):
    """A BrmsFit that holds no R object and was fitted without save_pars(all = TRUE)."""

    saved_all_pars = False


def test_loo_compare_refuses_mixed_and_foreign_inputs_before_r():
    base, a, b = two_models()
    fit = NoSavePars(None)
    with pytest.raises(PybrmsError, match="either fits or ELPDData.*got NoSavePars, ELPDData"):
        pybrms.loo_compare(fit, a)
    waic = waic_elpd_data(waic_table(base, np.full_like(base, 0.05)))
    with pytest.raises(PybrmsError, match="both LOO and WAIC"):
        pybrms.loo_compare(a, waic)
    with pytest.raises(PybrmsError, match=r"got dict \(the dict of fit.loo\(\)"):
        pybrms.loo_compare({"estimates": 1}, {"estimates": 2})
    with pytest.raises(PybrmsError, match="at least two"):
        pybrms.loo_compare(a)
    with pytest.raises(PybrmsError, match="one name per model"):
        pybrms.loo_compare(a, b, names=["only"])


@pytest.mark.parametrize("kwargs,match", [
    ({"moment_match": "yes"}, "moment_match must be True or False"),
    ({"reloo": 1}, "reloo must be True or False"),
    ({"k_threshold": "0.5"}, "k_threshold must be a number"),
    ({"k_threshold": float("nan")}, "k_threshold must be a number"),
    ({"reloo_args": [("chains", 1)]}, "reloo_args must be a dict"),
    ({"resp": 3}, "resp must be a response name"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"moment_match": True}, r"moment_match=True\) needs every parameter.*save_pars"),
])
def test_loo_arguments_fail_before_r(kwargs, match):
    with pytest.raises(PybrmsError, match=match):
        NoSavePars(None).loo(**kwargs)
