"""brms vs lme4 vs statsmodels on a bernoulli GLMM with nested and crossed random intercepts.

Real fits: ``pybrms.fit`` runs brms (flat ``normal(0, 1e6)`` priors on b, the same Stan program
as tests/slow/conftest.py's ``bern_fit``, so the compile cache is shared), lme4's glmer and
statsmodels's variational Bayes approximation on tests/golden/brms/bern.csv. The CLI test
fits the same formula, data and priors again, so it adds no Stan compile either.
"""

import json
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from PIL import Image

import pybrms
from pybrms import cli
from pybrms.compare.table import AGREEMENT_COLUMNS, compare
from pybrms.plots.forest import forest_plot
from pybrms.results import TIDY_COLUMNS

from .conftest import BERN_FORMULA, BERN_PRIORS, BRMS_GOLDEN

pytestmark = pytest.mark.slow

#: |brms posterior mean - glmer estimate| must be below this many brms posterior SDs.
#: With flat priors on b, the posterior mean and the ML estimate differ by the posterior's
#: skew and the integration over the random-effect SDs, a fraction of a posterior SD here.
TOLERANCE_SD = 0.5
HYPOTHESES = ["x1 > 0", "x2 < 0"]


@pytest.fixture(scope="module")
def fitset(bern_data):
    t0 = time.perf_counter()
    fs = pybrms.fit(BERN_FORMULA, bern_data, "bernoulli",
                    engines=("brms", "lme4", "statsmodels"), prior=BERN_PRIORS,
                    chains=2, iter=2000, seed=2024, quiet=True,
                    engine_options={"brms": {"cores": 1, "diagnose": False}})
    fs.wall_seconds = time.perf_counter() - t0
    return fs


@pytest.fixture(scope="module")
def comparison(fitset):
    return compare(fitset, HYPOTHESES)


def test_brms_posterior_means_agree_with_lme4(comparison):
    t = comparison.table
    t = t[t.effect == "fixed"]
    assert comparison.reference == "brms"
    lme = t[t.engine == "lme4"].set_index("term")
    assert list(lme.index) == ["Intercept", "x1", "x2"]
    # stated tolerance, read from the comparison output itself
    assert (lme["diff_se_units"].abs() < TOLERANCE_SD).all(), lme["diff_se_units"]
    assert lme["sign_agrees"].all() and lme["ci_overlap"].all()
    assert (lme["overlap_fraction"] > 0.7).all()
    brms = t[t.engine == "brms"].set_index("term")
    # the data were simulated with x1 > 0 and x2 < 0; both engines recover the signs
    assert brms.loc["x1", "estimate"] > 0 and brms.loc["x2", "estimate"] < 0
    # statsmodels's rows are labelled as the variational approximation they are
    vb = t[t.engine == "statsmodels"].set_index("term")
    assert len(vb) == 3 and vb["p_value"].isna().all()
    assert vb["method"].str.contains("variational Bayes").all()
    assert (vb.loc[["x1", "x2"], "diff_se_units"].abs() < 1.0).all()


def test_hypotheses_put_evidence_scales_side_by_side(comparison, fitset):
    h = comparison.hypotheses.set_index("hypothesis")
    brms_tab = fitset.hypothesis(HYPOTHESES)
    np.testing.assert_array_equal(h["brms_post_prob"], brms_tab["Post.Prob"])
    np.testing.assert_array_equal(h["brms_evid_ratio"], brms_tab["Evid.Ratio"])
    lme = fitset.tidy().query("engine == 'lme4'").set_index("term")
    # one-sided p from glmer's two-sided Wald p, in the hypothesis's direction
    assert h.loc["x1 > 0", "lme4_p_one_sided"] == pytest.approx(lme.loc["x1", "p_value"] / 2)
    assert h.loc["x2 < 0", "lme4_p_one_sided"] == pytest.approx(lme.loc["x2", "p_value"] / 2)
    assert list(h["lme4_p_test"]) == ["z", "z"]  # glmer's Wald z tests
    p = h.loc["x2 < 0", "lme4_p_one_sided"]
    assert h.loc["x2 < 0", "lme4_bf_bound"] == pytest.approx(1 / (-np.e * p * np.log(p)))
    # brms's posterior probability and glmer's one-sided p tell the same direction
    assert h.loc["x2 < 0", "brms_post_prob"] > 0.9 and p < 0.1
    assert abs((1 - h.loc["x2 < 0", "brms_post_prob"]) - p) < 0.05


def test_provenance_and_warnings(fitset):
    prov = fitset.provenance
    assert prov["brms"]["versions"]["brms"] == "2.18.0"
    assert prov["lme4"]["versions"]["lme4"] == "1.1.31"
    assert "not maximum likelihood" in prov["statsmodels"]["method"]
    assert set(fitset.warnings) == {"brms", "lme4", "statsmodels"}
    # one provenance layout for every engine
    assert len({tuple(p) for p in prov.values()}) == 1
    assert {p["formula"] for p in prov.values()} == {BERN_FORMULA}
    assert prov["brms"]["seed"] == 2024 and prov["lme4"]["seed"] is None
    # glmer's own warnings (this dataset: the model SD is near 0) reach the FitSet
    assert fitset.warnings["lme4"] == prov["lme4"]["warnings"]


def test_cli_end_to_end_writes_four_files(tmp_path, fitset, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", BERN_FORMULA, "--data", str(BRMS_GOLDEN / "bern.csv"),
            "--family", "bernoulli", "--engines", "brms,lme4,statsmodels",
            "--hypothesis", "x1 > 0", "--hypothesis", "x2 < 0", "--out", str(out),
            "--chains", "2", "--iter", "2000", "--seed", "2024", "--prior", "normal(0, 1e6)",
            "--quiet"]
    t0 = time.perf_counter()
    assert cli.main(argv) == 0
    seconds = time.perf_counter() - t0
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.csv", "comparison.md", "forest.png", "provenance.json"]
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == list(TIDY_COLUMNS) + list(AGREEMENT_COLUMNS)
    assert sorted(table.engine.unique()) == ["brms", "lme4", "statsmodels"]
    # same data, priors, seed and settings as the fitset fixture: the same numbers
    ours = fitset.tidy().set_index(["engine", "term"])
    theirs = table.set_index(["engine", "term"])
    for engine, rtol in (("brms", 1e-9), ("lme4", 1e-9), ("statsmodels", 1e-5)):
        # (statsmodels's VB optimum moves by ~3e-7 between runs)
        np.testing.assert_allclose(theirs.loc[engine, "estimate"],
                                   ours.loc[engine, "estimate"], rtol=rtol, err_msg=engine)
    md = (out / "comparison.md").read_text()
    assert "| x1 > 0 | x1 | > |" in md and "bf_bound" in md
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["fits"]["brms"]["details"]["compiled"] is False  # from the compile cache
    assert prov["fits"]["brms"]["seed"] == 2024
    assert prov["data"]["n_rows"] == 360 and len(prov["data"]["sha256"]) == 64
    with Image.open(out / "forest.png") as img:
        assert img.format == "PNG" and img.size[0] > 500
    # the figure drawn from the written CSV: 3 terms x 3 engines, one point and interval each
    fig = forest_plot(table)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Intercept", "x1", "x2"]
    conts = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in conts] == ["brms", "lme4", "statsmodels"]
    assert sum(len(c.lines[0].get_data()[0]) for c in conts) == 9
    plt.close(fig)
    print(f"CLI end to end: {seconds:.1f} s")
