"""pybrms.brm against plain Rscript brm(): bit-identical draws and hypothesis tables.

Reference numbers come from tests/golden/brms/plain_fits.R run in a separate Rscript
process during the session (R 4.2.2, brms 2.18.0, rstan 2.21.7), never from pybrms.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.cache import get_cache

from .conftest import GAUSS_FORMULA, GAUSS_PRIORS

pytestmark = pytest.mark.slow


def _assert_identical(py: pd.DataFrame, r: pd.DataFrame) -> None:
    assert list(py.columns) == list(r.columns)
    assert py.shape == r.shape
    a, b = py.to_numpy(float), r.to_numpy(float)
    diff = np.argwhere(a != b)
    assert diff.size == 0, f"{len(diff)} draws differ, first at {diff[:3].tolist()}"


def _assert_same_table(py: pd.DataFrame, r: pd.DataFrame) -> None:
    assert list(py.columns) == ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper",
                                "Evid.Ratio", "Post.Prob", "Star"]
    assert list(py["Hypothesis"]) == list(r["Hypothesis"])
    for col in ["Estimate", "Est.Error", "CI.Lower", "CI.Upper", "Evid.Ratio", "Post.Prob"]:
        np.testing.assert_array_equal(py[col].to_numpy(float), r[col].to_numpy(float), err_msg=col)
    assert list(py["Star"]) == [s if isinstance(s, str) else "" for s in r["Star"]]


def test_gaussian_correlated_slopes_draws_identical_to_rscript(gauss_fit, plain_r):
    r_draws, _ = plain_r.result("gaussian")
    py = gauss_fit.draws()
    assert py.shape == (600, 47)  # 2 chains x 300 draws; b, sd, cor, sigma, 36 r_, lprior, lp__
    _assert_identical(py, r_draws)


def test_bernoulli_nested_crossed_draws_identical_to_rscript(bern_fit, plain_r):
    r_draws, _ = plain_r.result("bernoulli")
    py = bern_fit.draws()
    assert {"b_x1", "sd_user__Intercept", "sd_user:conv__Intercept", "sd_model__Intercept"} <= set(py.columns)
    _assert_identical(py, r_draws)


@pytest.mark.parametrize("which,kind", [("gaussian", "one_sided"), ("gaussian", "two_sided"),
                                        ("bernoulli", "one_sided"), ("bernoulli", "two_sided")])
def test_hypothesis_table_equals_r(which, kind, gauss_fit, bern_fit, plain_r):
    _, r_tabs = plain_r.result(which)
    fit = gauss_fit if which == "gaussian" else bern_fit
    r_tab = r_tabs[kind]
    hyps = {
        ("gaussian", "one_sided"): ["Days > 0", "Days < 12", "Intercept - 25 * Days > 0"],
        ("gaussian", "two_sided"): ["Days = 10", "Intercept = 250"],
        ("bernoulli", "one_sided"): ["x1 > 0", "x2 < 0", "x1 - x2 > 0", "x1 < 0.5"],
        ("bernoulli", "two_sided"): ["x1 = 0.5", "x2 = 0"],
    }[(which, kind)]
    py_tab = fit.hypothesis(hyps, alpha=0.05)
    _assert_same_table(py_tab, r_tab)
    if (which, kind) == ("gaussian", "one_sided"):
        # every draw of Days is > 0: brms reports an infinite evidence ratio
        assert np.isinf(py_tab.loc[0, "Evid.Ratio"]) and py_tab.loc[0, "Post.Prob"] == 1.0


def test_cached_program_on_new_data_compiles_nothing_and_equals_fresh_fit(gauss_fit, sleep_data, plain_r):
    cache = get_cache()
    compiles_before = cache.stats.compiles
    entries_before = len(cache.entries())
    new = sleep_data[sleep_data["Days"] < 8].reset_index(drop=True)
    fit2 = pybrms.brm(GAUSS_FORMULA, new, "gaussian", prior=GAUSS_PRIORS, chains=2, iter=600,
                      seed=99, cores=1, quiet=True, diagnose=False)
    assert fit2.provenance["details"]["compiled"] is False
    assert fit2.provenance["details"]["stan_program"] == gauss_fit.provenance["details"]["stan_program"]
    assert cache.stats.compiles == compiles_before
    assert len(cache.entries()) == entries_before
    r_draws, _ = plain_r.result("gaussian_new")  # a fresh brm() in plain R: it compiled
    _assert_identical(fit2.draws(), r_draws)


def test_cache_is_reused_from_another_process(gauss_fit, cache_dir, golden_dir, tmp_path):
    script = f"""
import json, pandas as pd, pybrms
from tests.slow.conftest import GAUSS_FORMULA, GAUSS_PRIORS
d = pd.read_csv({str(golden_dir / "brms" / "sleepstudy.csv")!r})
f = pybrms.brm(GAUSS_FORMULA, d, "gaussian", prior=GAUSS_PRIORS, chains=1, iter=200, seed=5,
               quiet=True, diagnose=False)
print(json.dumps({{"compiled": f.provenance["details"]["compiled"], "key": f.provenance["details"]["stan_program"]}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=golden_dir.parent.parent, timeout=600,
                         env={**__import__("os").environ, "PYBRMS_CACHE_DIR": str(cache_dir)})
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"compiled": False, "key": gauss_fit.provenance["details"]["stan_program"]}


def test_fit_reports_brms_numbers(bern_fit):
    fe = bern_fit.fixef()
    assert list(fe["term"]) == ["Intercept", "x1", "x2"]
    d = bern_fit.draws()
    # fixef is the posterior mean/sd of the draws: check against the draws themselves
    np.testing.assert_allclose(fe.loc[1, "Estimate"], d["b_x1"].mean(), rtol=1e-12)
    np.testing.assert_allclose(fe.loc[1, "Est.Error"], d["b_x1"].std(ddof=1), rtol=1e-12)
    # the data were generated with x1 = 0.8, x2 = -1.0 (tests/golden/brms/make_data.R)
    assert 0.3 < fe.loc[1, "Estimate"] < 1.5 and -2.0 < fe.loc[2, "Estimate"] < -0.3
    tidy = bern_fit.tidy(conf_level=0.9)
    assert list(tidy["term"]) == ["Intercept", "x1", "x2", "sd_model__Intercept",
                                  "sd_user__Intercept", "sd_user:conv__Intercept"]
    assert list(tidy["effect"]) == ["fixed"] * 3 + ["ran_pars"] * 3
    assert list(tidy["group"][3:]) == ["model", "user", "user:conv"]
    assert (tidy["engine"] == "brms").all()
    np.testing.assert_allclose(tidy.loc[1, "conf_low"], np.quantile(d["b_x1"], 0.05), rtol=1e-10)
    # group-level SD rows are the draws' own mean, SD and quantiles
    sd = d["sd_user__Intercept"]
    row = tidy.set_index("term").loc["sd_user__Intercept"]
    np.testing.assert_allclose([row.estimate, row.std_error, row.conf_high],
                               [sd.mean(), sd.std(ddof=1), np.quantile(sd, 0.95)], rtol=1e-10)
    re = bern_fit.ranef()
    assert set(re["group"]) == {"user", "user:conv", "model"}
    assert (re["group"] == "user").sum() == 40 and (re["group"] == "user:conv").sum() == 120
    s = bern_fit.summary()
    assert {"variable", "mean", "sd", "rhat", "ess_bulk", "ess_tail"} <= set(s.columns)
    np.testing.assert_allclose(s.set_index("variable").loc["b_x2", "mean"], d["b_x2"].mean(), rtol=1e-12)


def test_to_arviz_and_diagnostics(bern_fit):
    idata = bern_fit.to_arviz(log_likelihood=True)
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 300
    np.testing.assert_array_equal(
        idata.posterior["b_x1"].values.ravel(),
        bern_fit.draws().sort_values([".chain", ".iteration"])["b_x1"].to_numpy())
    for name in ("diverging", "tree_depth", "energy", "acceptance_rate", "step_size", "lp"):
        assert name in idata.sample_stats
    assert idata.log_likelihood["y"].shape == (2, 300, 360)
    diag = bern_fit.diagnostics()
    sp = bern_fit.sampler_params()
    assert diag["divergences"] == int(sp["divergent__"].sum())
    assert diag["max_treedepth"] == 10
    assert int(idata.sample_stats["diverging"].values.sum()) == diag["divergences"]


def test_loo_and_compare(gauss_fit, sleep_data):
    loo = gauss_fit.loo()
    est = loo["estimates"].set_index("metric")
    assert {"elpd_loo", "p_loo", "looic"} <= set(est.index)
    np.testing.assert_allclose(est.loc["looic", "Estimate"], -2 * est.loc["elpd_loo", "Estimate"])
    assert loo["pareto_k"].shape == (180,)
    other = pybrms.brm(GAUSS_FORMULA, sleep_data, "gaussian", prior=GAUSS_PRIORS, chains=2,
                       iter=600, seed=7, quiet=True, diagnose=False)
    cmp = pybrms.loo_compare(gauss_fit, other, names=["seed1234", "seed7"])
    assert set(cmp["model"]) == {"seed1234", "seed7"}
    assert cmp["elpd_diff"].iloc[0] == 0.0 and abs(cmp["elpd_diff"].iloc[1]) < 5


def test_save_load_roundtrip(bern_fit, tmp_path):
    path = bern_fit.save(tmp_path / "fit.rds")
    assert path.exists() and path.with_suffix(".json").exists()
    back = pybrms.load(path)
    assert back.provenance["seed"] == 2024
    assert back.provenance["versions"]["brms"] == "2.18.0"
    assert back.provenance["data_hash"] == bern_fit.provenance["data_hash"]
    _assert_identical(back.draws(), bern_fit.draws())


def test_diagnostics_warn_after_fit(bern_fit, bern_data):
    # 1 chain of 40 iterations cannot reach ESS 400: the fit must warn, not stay silent
    with pytest.warns(pybrms.ConvergenceWarning, match="ESS"):
        f = pybrms.brm("y ~ x1 + x2 + (1 | user/conv) + (1 | model)", bern_data, "bernoulli",
                       prior=[pybrms.prior("normal(0, 1e6)", class_="b")], chains=1, iter=40,
                       seed=1, quiet=True, control={"max_treedepth": 12, "adapt_delta": 0.9},
                       silent=2)  # silent: a brm() argument pybrms does not name, passed through
    assert f.provenance["details"]["compiled"] is False
    assert f.provenance["details"]["diagnostics"]["ok"] is False and not f.converged
    assert any("ESS" in w for w in f.warnings) and f.warnings == f.provenance["warnings"]
    assert f.diagnostics()["max_treedepth"] == 12  # control reached Stan
    assert f.provenance["options"]["silent"] == 2
    assert f.provenance["options"]["control"]["adapt_delta"] == 0.9


def test_progress_shown_unless_quiet(bern_fit, bern_data, capfd):
    kw = dict(prior=[pybrms.prior("normal(0, 1e6)", class_="b")], chains=2, iter=100, seed=3,
              diagnose=False)
    pybrms.brm("y ~ x1 + x2 + (1 | user/conv) + (1 | model)", bern_data, "bernoulli", **kw)
    err = capfd.readouterr().err
    assert "reusing compiled Stan program" in err  # bern_fit compiled it
    assert "Chain 1: Iteration: 100 / 100" in err and "Chain 2: Iteration: 10 / 100" in err
    pybrms.brm("y ~ x1 + x2 + (1 | user/conv) + (1 | model)", bern_data, "bernoulli", quiet=True, **kw)
    captured = capfd.readouterr()
    assert "Iteration" not in captured.err + captured.out and "pybrms:" not in captured.err


def test_parallel_chains_report_progress_through_pybrms_and_equal_serial_draws(gauss_fit, sleep_data,
                                                                               capfd):
    """With cores = 2, rstan's chains run in worker processes that print to file descriptor 1;
    pybrms routes those lines to its echo (the replicate progress display parses them) and
    nothing reaches stdout. Chains are seeded by chain id, so the draws equal the serial fit's."""
    seen: list[str] = []
    fit = pybrms.brm(GAUSS_FORMULA, sleep_data, "gaussian", prior=GAUSS_PRIORS, chains=2,
                     iter=600, seed=1234, cores=2, diagnose=False, echo=seen.append)
    text = "".join(seen)
    for chain in (1, 2):
        assert f"Chain {chain}: Iteration: 600 / 600 [100%]  (Sampling)" in text
    out = capfd.readouterr().out
    assert "Chain 1" not in out and "Iteration" not in out
    _assert_identical(fit.draws(), gauss_fit.draws())
