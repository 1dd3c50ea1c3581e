"""Post-processing of a brms fit against R's own outputs for the same draws.

The golden files in tests/golden/post/ were written by tests/golden/post/make_golden.R:
plain Rscript runs the same ``brm()`` calls as the fixtures below with the same seeds
(pybrms's fits are bit-identical to Rscript's) and saves brms's post-processing of those
draws, with ``set.seed()`` right before every stochastic call, as the tests pass ``seed=``.
Versions: tests/golden/post/VERSIONS (R 4.2.2, brms 2.18.0, rstan 2.21.7, loo 2.5.1,
emmeans 1.8.4-1, bridgesampling 1.1-2). Comparisons are exact, or to 1e-12 relative where
R sums in long double.

Stan programs: ``post_fit`` is the one new program of this module (the slow tier's gaussian
model with ``sample_prior = "yes"``); ``other_fit`` (for bayes_factor) runs the slow tier's
gaussian program, compiled once per session; kfold and update refit without compiling.
"""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.errors import PybrmsError, RError

from .conftest import GAUSS_FORMULA, GAUSS_PRIORS

matplotlib.use("Agg")
pytestmark = pytest.mark.slow

POST = Path(__file__).resolve().parent.parent / "golden" / "post"
IDS = [1, 77, 250, 400]
ND = pd.DataFrame({"Days": [0, 4.5, 9, 2], "Subject": [308, 372, 999, 999],
                   "Reaction": [250, 300.5, 350.25, 280]})
ND_OLD = ND.iloc[:2].reset_index(drop=True)


def golden(name: str) -> pd.DataFrame:
    # round_trip: pandas' default parser can miss the last bit of a 17-digit number
    return pd.read_csv(POST / f"{name}.csv", float_precision="round_trip")


def golden_matrix(name: str) -> np.ndarray:
    return golden(name).to_numpy(float)


def save_pars_all():
    return pybrms.save_pars(all=True)


@pytest.fixture(scope="module")
def post_fit(sleep_data):
    return pybrms.brm(GAUSS_FORMULA, sleep_data, "gaussian", prior=GAUSS_PRIORS, chains=2,
                      iter=400, seed=4321, cores=1, quiet=True, diagnose=False,
                      sample_prior="yes", save_pars=save_pars_all())


@pytest.fixture(scope="module")
def other_fit(sleep_data):
    return pybrms.brm(GAUSS_FORMULA, sleep_data, "gaussian", prior=GAUSS_PRIORS, chains=2,
                      iter=400, seed=77, cores=1, quiet=True, diagnose=False,
                      save_pars=save_pars_all())


def assert_frame_equal_r(py: pd.DataFrame, r: pd.DataFrame, rtol: float = 0.0) -> None:
    assert list(py.columns) == list(r.columns)
    assert py.shape == r.shape
    for col in r.columns:
        if pd.api.types.is_numeric_dtype(r[col]):
            np.testing.assert_allclose(py[col].to_numpy(float), r[col].to_numpy(float),
                                       rtol=rtol, atol=0, err_msg=col)
        else:
            assert [str(v) for v in py[col]] == [str(v) for v in r[col]], col


def test_fit_is_the_rscript_fit(post_fit):
    d = post_fit.draws()
    rows = golden("draws_rows")
    assert list(d.columns) == list(rows.columns)
    assert {"prior_b", "prior_Intercept", "prior_sigma", "prior_sd_Subject",
            "prior_cor_Subject", "z_1[1,1]", "L_1[2,2]"} <= set(d.columns)
    np.testing.assert_array_equal(d.iloc[[0, 1, 399]].to_numpy(float), rows.to_numpy(float))
    sums = golden("draws_colsums").set_index("variable")["sum"]
    np.testing.assert_allclose(d[sums.index].sum().to_numpy(), sums.to_numpy(), rtol=1e-12)


def test_posterior_epred_linpred_predict_equal_r(post_fit):
    epred = post_fit.posterior_epred(draw_ids=IDS)
    assert epred.shape == (4, 180)
    np.testing.assert_array_equal(epred, golden_matrix("epred"))
    np.testing.assert_array_equal(
        post_fit.posterior_epred(ND, re_formula="NA", draw_ids=IDS),
        golden_matrix("epred_newdata_re_na"))
    # re_formula = NA: the population-level line b_Intercept + b_Days * Days, by hand
    d = post_fit.draws().iloc[np.array(IDS) - 1]
    by_hand = d["b_Intercept"].to_numpy()[:, None] + np.outer(d["b_Days"], ND["Days"])
    np.testing.assert_allclose(post_fit.posterior_epred(ND, re_formula=float("nan"), draw_ids=IDS),
                               by_hand, rtol=1e-12)
    np.testing.assert_array_equal(
        post_fit.posterior_linpred(ND_OLD, re_formula="~ (1 | Subject)", draw_ids=IDS),
        golden_matrix("linpred_re_intercept"))
    np.testing.assert_array_equal(post_fit.posterior_linpred(transform=True, draw_ids=IDS),
                                  golden_matrix("linpred_transform"))
    np.testing.assert_array_equal(post_fit.posterior_predict(draw_ids=IDS, seed=11),
                                  golden_matrix("predict_draws_seed11"))
    np.testing.assert_array_equal(
        post_fit.posterior_predict(ND, allow_new_levels=True, ndraws=5, seed=12),
        golden_matrix("predict_newlevels_ndraws5_seed12"))


def test_log_lik_equals_r(post_fit):
    ll = post_fit.log_lik(draw_ids=IDS)
    np.testing.assert_array_equal(ll, golden_matrix("log_lik"))
    np.testing.assert_array_equal(post_fit.log_lik(ND_OLD, draw_ids=IDS),
                                  golden_matrix("log_lik_newdata"))


def test_fitted_and_predict_summaries_equal_r(post_fit):
    f = post_fit.fitted()
    assert list(f.columns) == ["Estimate", "Est.Error", "Q2.5", "Q97.5"] and len(f) == 180
    assert_frame_equal_r(f, golden("fitted"))
    # Estimate is the mean of posterior_epred over draws
    np.testing.assert_allclose(f["Estimate"], post_fit.posterior_epred().mean(axis=0), rtol=1e-12)
    assert_frame_equal_r(post_fit.fitted(ND_OLD, re_formula="NA", probs=(0.1, 0.9)),
                         golden("fitted_newdata_re_na"))
    assert_frame_equal_r(post_fit.fitted(ND, allow_new_levels=True, seed=13),
                         golden("fitted_newlevels_seed13"))
    assert_frame_equal_r(post_fit.predict(seed=14), golden("predict_seed14"))
    draws = post_fit.fitted(ND_OLD, summary=False)
    assert draws.shape == (400, 2)


def test_prior_summary_equals_r(post_fit):
    ps = post_fit.prior_summary()
    # brms's prior table is text throughout (lb, ub too): read it as R wrote it
    r = pd.read_csv(POST / "prior_summary.csv", dtype=str, keep_default_na=False)
    assert list(ps.columns) == list(r.columns)
    assert list(ps.columns)[:9] == ["prior", "class", "coef", "group", "resp", "dpar", "nlpar",
                                    "lb", "ub"]
    assert_frame_equal_r(ps.fillna(""), r)
    assert "student_t(3, 0, 50)" in set(ps["prior"])


def test_loo_waic_equal_r(post_fit):
    lo = post_fit.loo()
    assert_frame_equal_r(lo["estimates"], golden("loo_estimates"))
    assert_frame_equal_r(lo["pointwise"], golden("loo_pointwise"))
    np.testing.assert_array_equal(lo["pareto_k"], golden("loo_pointwise")["influence_pareto_k"])
    kt = lo["pareto_k_table"]
    r_kt = golden("loo_pareto_k_table")
    assert list(kt["range"]) == list(r_kt["range"]) == ["(-Inf, 0.5]", "(0.5, 0.7]", "(0.7, 1]",
                                                        "(1, Inf)"]
    np.testing.assert_array_equal(kt["Count"], r_kt["Count"])
    np.testing.assert_array_equal(kt["Proportion"], r_kt["Proportion"])
    np.testing.assert_array_equal(kt["Count"], np.histogram(lo["pareto_k"],
                                                            [-np.inf, 0.5, 0.7, 1, np.inf])[0])
    wa = post_fit.waic()
    assert_frame_equal_r(wa["estimates"], golden("waic_estimates"))
    assert_frame_equal_r(wa["pointwise"], golden("waic_pointwise"))
    est = wa["estimates"].set_index("metric")["Estimate"]
    np.testing.assert_allclose(est["waic"], -2 * est["elpd_waic"], rtol=1e-14)


def test_loo_and_waic_as_arviz_hold_rs_numbers(post_fit, other_fit):
    import arviz as az

    e = post_fit.loo(arviz=True)
    est = golden("loo_estimates").set_index("metric")
    pw = golden("loo_pointwise")
    assert isinstance(e, az.ELPDData)
    assert (e["elpd_loo"], e["se"]) == tuple(est.loc["elpd_loo", ["Estimate", "SE"]])
    assert (e["p_loo"], e["se_p_loo"]) == tuple(est.loc["p_loo", ["Estimate", "SE"]])
    np.testing.assert_array_equal(e["loo_i"].values, pw["elpd_loo"])
    np.testing.assert_array_equal(e["pareto_k"].values, pw["influence_pareto_k"])
    assert e["warning"] and e["n_samples"] == 400 and e["n_data_points"] == 180
    o = other_fit.loo(arviz=True)
    r_cmp = golden("loo_compare_post_other")
    by_elpd = pybrms.loo_compare(e, o, names=["post", "other"])
    by_fit = pybrms.loo_compare(post_fit, other_fit, names=["post", "other"])
    assert_frame_equal_r(by_elpd, r_cmp)
    assert_frame_equal_r(by_fit, r_cmp)
    # arviz.compare on the same objects: R's elpd difference; its dse is sqrt(n * var) with
    # the population variance where loo's se_diff is sqrt(n) * sd, so they differ by
    # sqrt((n - 1) / n)
    cmp = az.compare({"post": e, "other": o})
    worse = r_cmp.iloc[1]
    assert cmp.index[1] == worse["model"]
    np.testing.assert_allclose(cmp["elpd_diff"].iloc[1], -worse["elpd_diff"], rtol=1e-12)
    np.testing.assert_allclose(cmp["dse"].iloc[1], worse["se_diff"] * np.sqrt(179 / 180),
                               rtol=1e-12)
    w = post_fit.waic(arviz=True)
    west = golden("waic_estimates").set_index("metric")
    assert (w["elpd_waic"], w["se"], w["p_waic"]) == (
        west.loc["elpd_waic", "Estimate"], west.loc["elpd_waic", "SE"],
        west.loc["p_waic", "Estimate"])
    np.testing.assert_array_equal(w["waic_i"].values, golden("waic_pointwise")["elpd_waic"])
    assert_frame_equal_r(pybrms.loo_compare(w, other_fit.waic(arviz=True),
                                            names=["post", "other"]),
                         golden("waic_compare_post_other"))
    with pytest.raises(PybrmsError, match="not both"):
        pybrms.loo_compare(post_fit, o)


def test_loo_moment_match_and_reloo_equal_r(post_fit):
    from pybrms.cache import get_cache

    plain = post_fit.loo()
    mm = post_fit.loo(moment_match=True)
    assert_frame_equal_r(mm["estimates"], golden("loo_moment_match_estimates"))
    assert_frame_equal_r(mm["pointwise"], golden("loo_moment_match_pointwise"))
    assert (mm["pareto_k"] > 0.7).sum() < (plain["pareto_k"] > 0.7).sum() == 4
    compiles = get_cache().stats.compiles
    re = post_fit.loo(reloo=True, k_threshold=0.85, seed=20)
    assert get_cache().stats.compiles == compiles  # the refit reuses the program
    assert_frame_equal_r(re["estimates"], golden("loo_reloo_k085_seed20_estimates"))
    assert_frame_equal_r(re["pointwise"], golden("loo_reloo_k085_seed20_pointwise"))
    # brms refits without observation 57 (the only k > 0.85) and sets its k to 0
    assert re["pareto_k"][56] == 0 and plain["pareto_k"][56] > 0.85
    changed = np.flatnonzero(re["pointwise"]["elpd_loo"] != plain["pointwise"]["elpd_loo"])
    assert changed.tolist() == [56]


def test_bayes_r2_and_loo_r2_equal_r(post_fit):
    r2 = post_fit.bayes_R2()
    g = golden("bayes_R2")
    assert list(r2.columns) == ["term", *g.columns]
    assert_frame_equal_r(r2.drop(columns="term"), g)
    assert 0.5 < r2.loc[0, "Estimate"] < 1
    assert post_fit.bayes_R2(summary=False).shape == (400,)
    assert_frame_equal_r(post_fit.loo_R2(seed=15).drop(columns="term"), golden("loo_R2_seed15"))


def test_conditional_effects_data_and_figure(post_fit):
    ce = post_fit.conditional_effects("Days")
    assert list(ce) == ["Days"]
    r = golden("conditional_effects_Days")
    py = ce["Days"]
    assert list(py.columns) == list(r.columns)
    for col in ("Days", "effect1__", "estimate__", "se__", "lower__", "upper__"):
        np.testing.assert_array_equal(py[col].to_numpy(float), r[col].to_numpy(float), err_msg=col)
    fig = ce.plot()
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), r["estimate__"].to_numpy(float))
    assert ax.get_xlabel() == "Days" and ax.get_ylabel() == "Reaction"


def test_pp_check_uses_the_draws_brms_pp_check_uses(post_fit):
    fig = post_fit.pp_check("dens_overlay", ndraws=5, seed=16)
    r = golden("pp_check_dens_overlay_seed16")
    y = r[r["is_y"]].sort_values("y_id")["value"].to_numpy(float)
    yrep = (r[~r["is_y"]].pivot(index="rep_id", columns="y_id", values="value")
            .to_numpy(float))
    np.testing.assert_array_equal(fig.pybrms_data["y"], y)
    np.testing.assert_array_equal(fig.pybrms_data["yrep"], yrep)
    ax = fig.axes[0]
    assert len(ax.lines) == 6  # five replicates and y, drawn last
    grid = ax.lines[-1].get_xdata()
    # each line is the density of its dataset: it integrates to ~1 over the plotted range
    assert abs(np.trapezoid(ax.lines[-1].get_ydata(), grid) - 1) < 0.02
    np.testing.assert_array_equal(ax.lines[-1].get_ydata(),
                                  pybrms.plots.ppc.density(y, grid))
    stat = post_fit.pp_check("stat", stat="mean", seed=17)
    rs = golden("pp_check_stat_mean_seed17")
    assert list(rs["variable"]) == [f"yrep_{i}" for i in range(1, 401)]  # all draws
    np.testing.assert_allclose(stat.pybrms_data["T_yrep"], rs["value"].to_numpy(float),
                               rtol=1e-13)
    np.testing.assert_allclose(stat.pybrms_data["T_y"], y.mean(), rtol=1e-14)
    hist = post_fit.pp_check("hist", ndraws=3, seed=1)
    assert len([a for a in hist.axes if a.get_visible()]) == 4
    with pytest.raises(PybrmsError, match="pp_check type"):
        post_fit.pp_check("violin")


def test_emmeans_and_contrasts_equal_r(post_fit):
    out = post_fit.emmeans("~ Days", at={"Days": [0, 4, 8]}, contrast="pairwise")
    assert_frame_equal_r(out["emmeans"], golden("emmeans_Days"))
    assert_frame_equal_r(out["contrasts"], golden("emmeans_Days_pairwise"))
    assert list(out["contrasts"]["contrast"]) == ["Days0 - Days4", "Days0 - Days8",
                                                  "Days4 - Days8"]


def test_kfold_refits_without_compiling_and_equals_r(post_fit):
    from pybrms.cache import get_cache

    compiles = get_cache().stats.compiles
    kf = post_fit.kfold(K=3, seed=18)
    assert get_cache().stats.compiles == compiles
    assert kf["K"] == 3
    assert_frame_equal_r(kf["estimates"], golden("kfold_K3_seed18"))
    assert_frame_equal_r(kf["pointwise"], golden("kfold_K3_seed18_pointwise"))
    assert sorted(kf["pointwise"]["fold"].value_counts()) == [60, 60, 60]


def test_bayes_factor_equals_r(post_fit, other_fit, gauss_fit):
    # save_pars changes no Stan code: other_fit ran the slow tier's gaussian program
    assert (other_fit.provenance["details"]["stan_program"]
            == gauss_fit.provenance["details"]["stan_program"])
    bf = post_fit.bayes_factor(other_fit, seed=19)
    r = golden("bayes_factor_seed19").iloc[0]
    assert bf["logml_1"] == r["logml_1"] and bf["logml_2"] == r["logml_2"]
    np.testing.assert_allclose(bf["bf"], r["bf"], rtol=1e-12)
    # the same model twice (prior draws change no likelihood): log BF ~ 0 up to bridge error
    assert abs(bf["log_bf"]) < 0.5
    with pytest.raises(PybrmsError, match=r"save_pars\(all = TRUE\)"):
        post_fit.bayes_factor(gauss_fit)  # fitted without save_pars(all = TRUE)


def test_update_reuses_program_and_equals_fresh_rscript_fit(gauss_fit, sleep_data, plain_r):
    from pybrms.cache import get_cache

    compiles = get_cache().stats.compiles
    new = sleep_data[sleep_data["Days"] < 8].reset_index(drop=True)
    fit2 = gauss_fit.update(newdata=new, seed=99, quiet=True, diagnose=False)
    assert get_cache().stats.compiles == compiles
    assert fit2.provenance["seed"] == 99 and fit2.provenance["n_rows"] == 144
    assert fit2.provenance["details"]["compiled"] is False
    r_draws, _ = plain_r.result("gaussian_new")  # brm() on the new data in plain R
    py = fit2.draws()
    assert list(py.columns) == list(r_draws.columns)
    np.testing.assert_array_equal(py.to_numpy(float), r_draws.to_numpy(float))
    with pytest.raises(PybrmsError, match="cannot change formula"):
        gauss_fit.update(formula="Reaction ~ 1")


def test_to_arviz_groups_and_coords(post_fit):
    idata = post_fit.to_arviz(log_likelihood=True, posterior_predictive=True, seed=11)
    for group in ("posterior", "posterior_predictive", "observed_data", "log_likelihood",
                  "prior", "sample_stats"):
        assert group in idata.groups(), group
    r = idata.posterior["r_Subject"]
    assert r.dims == ("chain", "draw", "Subject", "Subject__term")
    assert r.sizes["Subject"] == 18 and list(r["Subject__term"].values) == ["Intercept", "Days"]
    d = post_fit.draws().sort_values([".chain", ".iteration"])
    np.testing.assert_array_equal(r.sel(Subject="372", Subject__term="Days").values.ravel(),
                                  d["r_Subject[372,Days]"].to_numpy())
    assert not any(v.startswith("r_Subject[") for v in idata.posterior.data_vars)
    assert "prior_b" not in idata.posterior and "prior_b" in idata.prior
    np.testing.assert_array_equal(idata.prior["prior_sigma"].values.ravel(),
                                  d["prior_sigma"].to_numpy())
    z = idata.posterior["z_1"]
    assert z.dims == ("chain", "draw", "z_1_dim_0", "z_1_dim_1") and z.shape[2:] == (2, 18)
    np.testing.assert_array_equal(idata.observed_data["y"].values, post_fit.response()[1])
    assert idata.attrs["response"] == "Reaction"
    ll = idata.log_likelihood["y"]
    assert ll.shape == (2, 200, 180)
    np.testing.assert_array_equal(ll.values.reshape(400, 180)[np.array(IDS) - 1],
                                  golden_matrix("log_lik"))
    pp = idata.posterior_predictive["y"].values.reshape(400, 180)
    np.testing.assert_array_equal(pp, post_fit.posterior_predict(seed=11))
    import arviz as az

    loo = az.loo(idata)  # ArviZ's PSIS-LOO from pybrms's log_likelihood group
    np.testing.assert_allclose(loo.elpd_loo, golden("loo_estimates").iloc[0]["Estimate"],
                               rtol=1e-3)


def test_bad_arguments_fail_before_r(post_fit):
    with pytest.raises(PybrmsError, match="draw_ids are numbered 1..400"):
        post_fit.posterior_epred(draw_ids=[0])
    with pytest.raises(PybrmsError, match="ndraws"):
        post_fit.posterior_predict(ndraws=401)
    with pytest.raises(PybrmsError, match="re_formula"):
        post_fit.fitted(re_formula="1 | Subject")
    with pytest.raises(PybrmsError, match="newdata must be a pandas DataFrame"):
        post_fit.predict(newdata={"Days": [1]})
    with pytest.raises(PybrmsError, match="K must be"):
        post_fit.kfold(K=1)
    # a column brms needs and newdata lacks: brms's own message names it
    with pytest.raises(RError, match="Days"):
        post_fit.posterior_epred(pd.DataFrame({"Subject": [308]}))
    with pytest.raises(RError, match="Levels '999' of grouping factor 'Subject'.*allow_new_levels"):
        post_fit.posterior_epred(ND)  # Subject 999 without allow_new_levels
