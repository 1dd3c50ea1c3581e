"""The simulator's calibrated parts: ceiling shift, residual-scale slopes, topic stream. No R."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pybrms.papers.kyrychenko2025 import simulate as sim
from pybrms.papers.kyrychenko2025.frames import PREDICTORS
from pybrms.papers.kyrychenko2025.prism import CONVERSATION_TYPES
from pybrms.papers.kyrychenko2025.scoring.base import text_sha256
from pybrms.papers.kyrychenko2025.simulate import (
    SCALE_CALIBRATION,
    attributes,
    ceiling_shift,
    published_truth,
    score_scale,
    simulate_prism,
)

CEILING = float(np.log(100.0))


def expected_capped(a: np.ndarray, sd: np.ndarray, ceiling: float) -> np.ndarray:
    """E[min(a + sd * Z, ceiling)] by the trapezoid rule on a fine grid of Z (independent of
    the closed form the simulator uses)."""
    x = np.linspace(-12.0, 12.0, 400_001)
    w = np.exp(-0.5 * x * x)
    w /= w.sum()
    vals = np.minimum(a[:, None] + sd[:, None] * x[None, :], ceiling)
    return vals @ w


def test_ceiling_shift_keeps_the_observed_mean_at_the_linear_predictor():
    mean = np.array([1.0, 3.1, 4.0, 4.3, 4.5, 4.55])
    sd = np.array([0.5, 0.5, 0.5, 0.8, 0.3, 0.6])
    a = ceiling_shift(mean, sd, CEILING)
    np.testing.assert_allclose(expected_capped(a, sd, CEILING), mean, atol=1e-7)
    # far below the ceiling nothing moves; near it the shift grows with the spread
    assert abs(a[0] - mean[0]) < 1e-12
    assert a[3] - mean[3] > a[2] - mean[2] > 0.01
    # a mean at or above the ceiling has no solution: it is held 0.05 below
    held = ceiling_shift(np.array([5.0]), np.array([0.5]), CEILING)
    assert expected_capped(held, np.array([0.5]), CEILING)[0] == pytest.approx(CEILING - 0.05,
                                                                                abs=1e-7)


def test_score_scale_solves_table_2a_from_table_2b_with_the_measured_map():
    pub = published_truth()
    a = {k: pub.table_2a[k][0] for k in PREDICTORS}
    b = {k: pub.table_2b[k][0] for k in PREDICTORS}
    gam = score_scale(a, b)
    cal = SCALE_CALIBRATION
    for k in PREDICTORS:
        if abs(cal["delta"][k]) < cal["min_delta"]:
            assert gam[k] == 0.0, k  # no leverage: the attribute barely varies within a turn
        else:
            assert cal["kappa"][k] * b[k] + cal["delta"][k] * gam[k] == pytest.approx(a[k])
    # TOXICITY: 1b lowers the score, 1a raises the chance of the top score -> wider scores
    assert gam["TOXICITY"] > 3 and gam["REASONING_NUANCE"] < 0
    assert gam["AFFINITY"] == gam["RESPECT"] == 0.0


@pytest.mark.parametrize("slopes", ["paper", "homogeneous"])
def test_truth_json_records_the_residual_scale_per_type(tmp_path, slopes):
    res = simulate_prism(tmp_path, seed=3, scale=0.01, slopes=slopes)
    truth = json.loads(res.files["truth"].read_text())
    scale = truth["score_scale"]
    assert scale["calibration"] == json.loads(json.dumps(SCALE_CALIBRATION))
    pub = published_truth()
    col = {t: i for i, t in enumerate(CONVERSATION_TYPES, start=1)}
    for t in CONVERSATION_TYPES:
        if slopes == "homogeneous":
            assert scale["per_type"][t] == scale["all"]
        else:
            want = score_scale({k: pub.table_2a[k][col[t]] for k in PREDICTORS},
                               truth["analysis_1b_per_type_implied"][t])
            assert scale["per_type"][t] == pytest.approx(want)
    assert scale["per_type"]["unguided"] != scale["per_type"]["controversy guided"] or \
        slopes == "homogeneous"


def test_topic_stream_leaves_every_other_draw_in_place(tmp_path, monkeypatch):
    """The topic effects come from their own stream: without them, the same seed gives the
    same conversations, users, first-turn models, empties and prompt attributes; only response
    attributes and scores (and so the models of later turns) change."""
    with_topic = simulate_prism(tmp_path / "a", seed=9, scale=0.02, fmt="parquet")
    # the response attributes are drawn in simulate.attributes, which reads TOPIC_SD
    monkeypatch.setattr(attributes, "TOPIC_SD", {k: 0.0 for k in sim.TOPIC_SD})
    without = simulate_prism(tmp_path / "b", seed=9, scale=0.02, fmt="parquet")
    assert with_topic.counts == without.counts
    ua = pd.read_parquet(with_topic.files["utterances"])
    ub = pd.read_parquet(without.files["utterances"])
    cols = ["utterance_id", "user_id", "model_name", "model_response", "conversation_type"]
    # later turns follow the first turn's top-scored model, which the scores decide
    pd.testing.assert_frame_equal(ua.loc[ua["turn"] == 0, cols], ub.loc[ub["turn"] == 0, cols])
    sa = pd.read_parquet(with_topic.files["scores"]).set_index("text_sha256")
    sb = pd.read_parquet(without.files["scores"]).set_index("text_sha256")
    prompts = ua.loc[ua["turn"] == 0, "user_prompt"].map(text_sha256).unique()
    pd.testing.assert_frame_equal(sa.loc[prompts], sb.loc[prompts])  # prompts: same draws
    responses = ua.loc[(ua["turn"] == 0) & (ua["model_response"] != "EMPTY STRING"),
                       "model_response"].map(text_sha256)
    assert not np.allclose(sa.loc[responses, "COMPASSION"], sb.loc[responses, "COMPASSION"])


def test_scores_stay_inside_the_scale_with_mild_heteroscedasticity(tmp_path):
    res = simulate_prism(tmp_path, seed=21, scale=0.1, fmt="parquet")
    utt = pd.read_parquet(res.files["utterances"])
    first = utt[utt["turn"] == 0]
    assert 25 < first["score"].mean() < 35
    assert (first["score"] == 100).mean() < 0.02 and (first["score"] == 1).mean() < 0.005
    truth = json.loads(res.files["truth"].read_text())
    assert truth["score_model"] == sim.SCORE_MODEL
    # the residual-scale slopes times the attributes' within-turn SDs: the log residual SD
    # moves by a few tenths at most (more would push scores into the 1..100 bounds)
    spread = np.sqrt(sum((g * sim.RESPONSE_SD[k]) ** 2
                         for k, g in truth["score_scale"]["all"].items()))
    assert 0.1 < spread < 0.4
