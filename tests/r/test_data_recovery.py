"""Recovery: lme4 on a full-scale simulated PRISM recovers the simulator's Analysis 1b truth.

This proves the simulator and the frames agree: data written as PRISM files, read back by the
loader, turned into the Analysis 1b frame, and fitted with the paper's model
``log(score) ~ 7 predictors + (1 | user_id/conversation_id) + (1 | model_name)`` (gaussian).
"""

from __future__ import annotations

import json
import time
import warnings

import pytest

from pybrms.data.frames import PREDICTORS, build_frames
from pybrms.data.simulate import simulate_prism

pytestmark = pytest.mark.r

FORMULA = ("log_score ~ " + " + ".join(PREDICTORS)
           + " + (1|user_id/conversation_id) + (1|model_name)")


def test_lme4_recovers_analysis_1b_truth_on_full_scale_simulation(tmp_path):
    pytest.importorskip("rpy2")
    from pymer4.models import Lmer

    t0 = time.perf_counter()
    sim = simulate_prism(tmp_path, seed=1, scale=1.0)
    frames = build_frames(tmp_path, sim.files["scores"], reasoning_nuance="mean", ties="all")
    df = frames["1b"]
    assert len(df) == 29730 and df["conversation_id"].nunique() == 7960
    truth = json.loads(sim.files["truth"].read_text())
    assert truth["reasoning_nuance"] == frames.report.options["reasoning_nuance"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Lmer(FORMULA, data=df)
        model.fit(summarize=False)
    coefs = model.coefs
    lines = []
    for term in ("(Intercept)", *PREDICTORS):
        key = "Intercept" if term == "(Intercept)" else term
        est, se = float(coefs.loc[term, "Estimate"]), float(coefs.loc[term, "SE"])
        true = truth["analysis_1b"][key]
        lines.append(f"{term}: true {true:.3f} est {est:.3f} se {se:.3f} "
                     f"z {(est - true) / se:+.2f}")
        assert abs(est - true) <= 2 * se, lines[-1]
        assert se < 0.2  # the estimate is informative, not a wide interval that always passes
    # the fit must also tell the effects apart: the largest is clearly REASONING_NUANCE
    assert coefs.loc["REASONING_NUANCE", "Estimate"] > 1.0
    assert coefs.loc["PERSONAL_STORY", "Estimate"] < -0.5
    print("\n".join(lines), f"\n{time.perf_counter() - t0:.1f}s")
