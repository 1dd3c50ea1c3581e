"""Recovery: lme4 on a full-scale simulated PRISM recovers the simulator's stated truth.

This proves the simulator and the frames agree: data written as PRISM files, read back by the
loader, turned into analysis frames, and fitted with the paper's models (gaussian, log score,
``(1 | user_id/conversation_id) + (1 | model_name)``) with pybrms's lme4 engine.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.stats import chi2

from pybrms.papers.kyrychenko2025.frames import MODERATORS, PREDICTORS, build_frames
from pybrms.papers.kyrychenko2025.published import load_published
from pybrms.papers.kyrychenko2025.simulate import simulate_prism

pytestmark = pytest.mark.r

RE = " + (1|user_id/conversation_id) + (1|model_name)"
FORMULA_1B = "log_score ~ " + " + ".join(PREDICTORS) + RE


def fit(formula, data):
    """lme4's coefficient table (lme4's term names; Estimate, SE)."""
    from pybrms import fit as pybrms_fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = pybrms_fit(formula, data, engines=["lme4"], quiet=True)
    return fs["lme4"].coefs.rename(columns={"Std. Error": "SE"})


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    pytest.importorskip("rpy2")
    out = tmp_path_factory.mktemp("recovery")
    res = simulate_prism(out, seed=1, scale=1.0)
    frames = build_frames(out, res.files["scores"], reasoning_nuance="mean", ties="all")
    truth = json.loads(res.files["truth"].read_text())
    assert truth["reasoning_nuance"] == frames.report.options["reasoning_nuance"]
    return frames, truth


def test_lme4_recovers_analysis_1b_truth(sim):
    """Table 2b "all": 8 coefficients, jointly (chi-square at 0.999) and each within 3.5 SE.

    Eight separate 2-SE checks would fail one time in three on correct data (one did, when the
    simulator's prompt attributes changed from an SVD to a Cholesky factor); the joint test has
    a false-alarm rate of 0.001 and still rejects a wrong truth (the zero check below).
    """
    frames, truth = sim
    df = frames["1b"]
    assert len(df) == 29730 and df["conversation_id"].nunique() == 7960
    coefs = fit(FORMULA_1B, df)
    lines, z, z0 = [], [], []
    for term in ("(Intercept)", *PREDICTORS):
        key = "Intercept" if term == "(Intercept)" else term
        est, se = float(coefs.loc[term, "Estimate"]), float(coefs.loc[term, "SE"])
        true = truth["analysis_1b"][key]
        z.append((est - true) / se)
        z0.append(est / se)
        lines.append(f"{term}: true {true:.3f} est {est:.3f} se {se:.3f} z {z[-1]:+.2f}")
        assert abs(z[-1]) < 3.5, lines[-1]
        assert se < 0.2  # informative: an interval this narrow would miss a wrong truth
    crit = chi2.ppf(0.999, len(z))
    assert float(np.sum(np.square(z))) < crit, "\n".join(lines)
    assert float(np.sum(np.square(z0))) > crit
    print("\n" + "\n".join(lines))


def test_per_type_slopes_match_the_stated_type_deviations(sim):
    """Table 2b per type (centred): 21 coefficients, jointly (chi-square at 0.999)."""
    frames, truth = sim
    z, z_common = [], []
    for ctype, sub in frames["1b"].groupby("conversation_type"):
        coefs = fit(FORMULA_1B, sub)
        implied = truth["analysis_1b_per_type_implied"][ctype]
        for p in PREDICTORS:
            est, se = coefs.loc[p, "Estimate"], coefs.loc[p, "SE"]
            z.append((est - implied[p]) / se)
            z_common.append((est - truth["analysis_1b"][p]) / se)
    crit = chi2.ppf(0.999, len(z))
    assert float(np.sum(np.square(z))) < crit, np.round(z, 2)
    # the deviations matter: one common slope for all types (Table 2b "all") is rejected
    assert float(np.sum(np.square(z_common))) > crit


def test_moderation_interactions_match_table_3(sim):
    """Analysis 2: 28 moderator x predictor interactions, jointly; zero truth is rejected."""
    frames, truth = sim
    d2 = frames["2"].copy()
    for m in MODERATORS:
        d2[m] = d2[m].astype(int)
    formula = ("log_score ~ (" + " + ".join(PREDICTORS) + ") * (" + " + ".join(MODERATORS)
               + ")" + RE)
    coefs = fit(formula, d2)
    z, z0 = [], []
    for mod, gammas in truth["analysis_2_moderation"].items():
        for p, gamma in gammas.items():
            est, se = coefs.loc[f"{p}:{mod}", "Estimate"], coefs.loc[f"{p}:{mod}", "SE"]
            z.append((est - gamma) / se)
            z0.append(est / se)
    crit = chi2.ppf(0.999, len(z))
    assert float(np.sum(np.square(z))) < crit, np.round(z, 2)
    assert float(np.sum(np.square(z0))) > crit  # data generated without Table 3 would fail


def test_toxicity_interaction_is_recovered(sim):
    """Recovered, but far less precisely than the paper: the simulated toxicity spreads that
    Tables 2(b) and 4 call for give the interaction an SE of about 1.9 where the paper has
    0.104 (the real scores' heavy right tail is not simulated; bundled README)."""
    frames, truth = sim
    coefs = fit("log_score ~ " + " + ".join(PREDICTORS)
                + " + TOXICITY_human + TOXICITY:TOXICITY_human" + RE, frames["1b"])
    est = coefs.loc["TOXICITY:TOXICITY_human", "Estimate"]
    se = coefs.loc["TOXICITY:TOXICITY_human", "SE"]
    true = truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"]
    assert abs(est - true) <= 2 * se and se < 2.5
    # uncentred model: the TOXICITY slope is beta - interaction * centre
    centre = truth["toxicity_interaction"]["centre_TOXICITY_human"]
    t_true = truth["analysis_1b"]["TOXICITY"] - true * centre
    assert abs(coefs.loc["TOXICITY", "Estimate"] - t_true) <= 2 * coefs.loc["TOXICITY", "SE"]


def test_analysis_3_prompt_to_response_coefficients_match_table_4(sim):
    """Analysis 3: 7 response attributes x 7 prompt attributes (Table 4), jointly."""
    frames, truth = sim
    human = [f"{p}_human" for p in PREDICTORS]
    z, z0 = [], []
    for dv, row in truth["analysis_3"].items():
        coefs = fit(f"{dv} ~ " + " + ".join(human) + RE, frames["3"])
        for h in human:
            est, se = coefs.loc[h, "Estimate"], coefs.loc[h, "SE"]
            z.append((est - row[h]) / se)
            z0.append(est / se)
    crit = chi2.ppf(0.999, len(z))
    assert len(z) == 49
    assert float(np.sum(np.square(z))) < crit, np.round(z, 1)
    assert float(np.sum(np.square(z0))) > crit


#: rows of the full-scale simulated 1b frame (the paper's counts; test above)
N_FULL = 29730
REDUCED_SCALE = 0.25


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    pytest.importorskip("rpy2")
    out = tmp_path_factory.mktemp("calibration")
    res = simulate_prism(out, seed=5, scale=REDUCED_SCALE, slopes="homogeneous")
    return build_frames(out, res.files["scores"], reasoning_nuance="mean", ties="all")


def test_reduced_scale_uncertainty_matches_the_published_after_sqrt_n(reduced):
    """The calibration, checked at a quarter of the paper's scale (7,400 rows, seconds).

    Table 2(b): every standard error, scaled to the paper's size by sqrt(n / 29,730), lies
    within 0.75-1.30 of the published Est.Error (the full-scale benchmark measures 0.97-1.06;
    the band allows the reduced data's own variation). Table 2(a): the simulated 1a errors
    are wider than published (measured 1.3-1.7 at full scale; bundled README: why), here
    checked to 1.0-2.2. Signs: the rows whose published estimate is more than 3 scaled SEs
    from 0 (the others can flip by chance at this size).
    """
    rhs = " + ".join(PREDICTORS) + RE
    t2 = load_published("table2")
    t2 = t2[t2["convo_type"] == "all"].set_index(["analysis", "term"])
    lines, bad = [], []
    for analysis, y, family, band in (("1b", "log_score", "gaussian", (0.75, 1.30)),
                                      ("1a", "highest", "bernoulli", (1.0, 2.2))):
        df = reduced[analysis]
        factor = np.sqrt(len(df) / N_FULL)
        from pybrms import fit as pybrms_fit

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fs = pybrms_fit(f"{y} ~ {rhs}", df, family, engines=["lme4"], quiet=True)
        tidy = fs["lme4"].tidy().set_index("term")
        for term in PREDICTORS:
            pub = t2.loc[(analysis, term)]
            est, se = float(tidy.loc[term, "estimate"]), float(tidy.loc[term, "std_error"])
            ratio = se * factor / float(pub["est_error"])
            strong = abs(float(pub["estimate"])) > 3 * float(pub["est_error"]) / factor
            lines.append(f"{analysis} {term}: se ratio {ratio:.2f}, est {est:.3f} "
                         f"(published {pub['estimate']:.3f}{', sign checked' if strong else ''})")
            if not band[0] <= ratio <= band[1]:
                bad.append(lines[-1])
            if strong and np.sign(est) != np.sign(float(pub["estimate"])):
                bad.append(lines[-1])
    assert not bad, "\n".join(lines)
    assert sum("sign checked" in ln for ln in lines) >= 3  # 1b RN, PS; 1a RN
    print("\n" + "\n".join(lines))
