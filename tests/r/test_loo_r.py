"""LOO/WAIC as ArviZ ELPDData and back, against R's loo package; brms's 3-D summaries and
multivariate responses as pybrms hands them to Python. R, no Stan compile: the loo objects
come from log-likelihood matrices (loo::loo.matrix, loo::waic.matrix), the brmsfits from
brm(empty = TRUE)."""

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import bridge
from pybrms.engines.brms import BrmsFit
from pybrms.engines.brms.elpd import loo_elpd_data, waic_elpd_data

pytestmark = pytest.mark.r

# Two models' log-likelihoods for 50 observations, 400 draws; model b has a few observations
# with heavy tails (high Pareto k) so the comparison has something to show
LL = """
set.seed(3)
ll_a <- matrix(rnorm(400 * 50, -1, 0.3), 400)
ll_b <- ll_a + matrix(rnorm(400 * 50, -0.05, 0.2), 400)
ll_b[, 1:3] <- ll_b[, 1:3] - matrix(rexp(400 * 3, 0.3), 400)
"""


@pytest.fixture(scope="module")
def ro():
    r = bridge.ensure_r("core")
    r.r(LL)
    return r


def r_loo(ro, which: str):
    return ro.r(f"loo::loo(ll_{which}, r_eff = rep(1, 50))")


def table(robj) -> dict:
    return bridge.to_py(bridge.call("pybrms_loo_table", robj, feature="core"))


def test_elpd_data_holds_loos_numbers(ro):
    la = r_loo(ro, "a")
    e = loo_elpd_data(table(la))
    r_est = bridge.to_py(ro.r("function(l) as.list(l$estimates)")(la))
    r_k = np.asarray(bridge.to_py(ro.r("function(l) l$diagnostics$pareto_k")(la)))
    r_pw = bridge.to_py(ro.r("function(l) as.list(l$pointwise[, 'elpd_loo'])")(la))
    # estimates matrix column-major: Estimate (elpd, p, ic), then SE
    assert [e["elpd_loo"], e["p_loo"], e["se"], e["se_p_loo"]] == [r_est[0], r_est[1], r_est[3],
                                                                  r_est[4]]
    np.testing.assert_array_equal(e["pareto_k"].values, r_k)
    np.testing.assert_array_equal(e["loo_i"].values, r_pw)
    assert e["n_samples"] == 400 and e["n_data_points"] == 50


def test_loo_compare_of_elpd_data_is_rs_loo_compare(ro):
    la, lb = r_loo(ro, "a"), r_loo(ro, "b")
    want = bridge.to_pandas(bridge.call("pybrms_loo_compare", bridge.to_r([la, lb]), ["a", "b"],
                                        feature="core"))
    got = pybrms.loo_compare(loo_elpd_data(table(la)), loo_elpd_data(table(lb)),
                             names=["a", "b"])
    assert list(got.columns) == ["model", "elpd_diff", "se_diff", "elpd_loo", "se_elpd_loo",
                                 "p_loo", "se_p_loo", "looic", "se_looic"]
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["model"].tolist() == ["a", "b"] and got.loc[1, "elpd_diff"] < 0


def test_waic_compare_of_elpd_data_is_rs(ro):
    wa, wb = (ro.r(f"suppressWarnings(loo::waic(ll_{w}))") for w in "ab")
    want = bridge.to_pandas(bridge.call("pybrms_loo_compare", bridge.to_r([wa, wb]),
                                        ["a", "b"], feature="core"))

    def elpd(w):
        out = bridge.to_py(ro.r("""function(w) list(
            estimates = data.frame(metric = rownames(w$estimates), w$estimates,
                                   row.names = NULL),
            pointwise = as.data.frame(w$pointwise), n_samples = dim(w)[1],
            n_high_p_waic = sum(w$pointwise[, 'p_waic'] > 0.4))""")(w))
        return waic_elpd_data(out)

    ea, eb = elpd(wa), elpd(wb)
    assert eb["warning"]  # the heavy-tailed observations have p_waic > 0.4
    got = pybrms.loo_compare(ea, eb, names=["a", "b"])
    assert "waic" in got.columns and "elpd_waic" in got.columns
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_three_dimensional_summaries_become_long_frames(ro):
    arr = ro.r("""array(seq_len(5 * 4 * 3) + 0.25, c(5, 4, 3), dimnames = list(NULL,
        c("Estimate", "Est.Error", "Q2.5", "Q97.5"), c("P(Y = 1)", "P(Y = 2)", "P(Y = lo)")))""")
    values = bridge.r_matrix(arr)
    long = bridge.to_pandas(bridge.call("pybrms_long_summary", arr, "category", feature="core"))
    assert list(long.columns) == ["category", "obs", "Estimate", "Est.Error", "Q2.5", "Q97.5"]
    assert long["category"].tolist() == ["1"] * 5 + ["2"] * 5 + ["lo"] * 5
    assert long["obs"].tolist() == list(range(5)) * 3
    np.testing.assert_array_equal(long.iloc[:, 2:].to_numpy(),
                                  np.concatenate([values[:, :, k] for k in range(3)]))
    one = bridge.to_pandas(bridge.call(
        "pybrms_long_summary", ro.r("array(1:8 + 0, c(1, 4, 2), dimnames = list(NULL, "
                                    "c('Estimate', 'Est.Error', 'Q5', 'Q95'), c('y1', 'y2')))"),
        "resp", feature="core"))  # one observation: no dimension dropped
    assert one["resp"].tolist() == ["y1", "y2"] and one["Q95"].tolist() == [4.0, 8.0]


def test_multivariate_and_ordinal_responses():
    ro = bridge.ensure_r("brms")
    mv = BrmsFit(ro.r("brm(bf(mvbind(Sepal.Length, Petal.Length) ~ Sepal.Width) + "
                      "set_rescor(TRUE), data = iris, empty = TRUE)"))
    names, y = mv.response()
    assert names == ["Sepal.Length", "Petal.Length"] and mv.responses == ["SepalLength",
                                                                         "PetalLength"]
    iris = pybrms.r_dataset("iris", "datasets")
    np.testing.assert_array_equal(y, iris[["Sepal.Length", "Petal.Length"]].to_numpy())
    ordinal = BrmsFit(ro.r("brm(rating ~ period, data = inhaler, family = sratio(), "
                           "empty = TRUE)"))
    name, y = ordinal.response()
    assert name == "rating" and ordinal.responses == [] and set(np.unique(y)) == {1, 2, 3, 4}
