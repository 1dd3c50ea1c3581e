"""The paper's 1b coverage study: its generator lives in the plugin, the study file names it,
and a replicate is reproducible from its seed stream (a tiny scale here; the full-scale run's
record is benchmarks/results/simstudy_kyrychenko2025_1b_coverage_lme4_reps30.json)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pybrms.papers.kyrychenko2025.study import generate
from pybrms.simstudy import load_study
from pybrms.simstudy.tasks import build_tasks

STUDY = Path(__file__).resolve().parents[2] / "examples" / "studies" / \
    "kyrychenko2025_1b_coverage.toml"


def test_generate_returns_the_1b_rows_and_table_2b_slopes_reproducibly():
    df, truth = generate(np.random.default_rng(4), scale=0.02)
    again, truth2 = generate(np.random.default_rng(4), scale=0.02)
    pd.testing.assert_frame_equal(df, again)
    assert truth == truth2 and sorted(truth) == [
        "AFFINITY", "COMPASSION", "CURIOSITY", "PERSONAL_STORY", "REASONING_NUANCE", "RESPECT",
        "TOXICITY"]
    assert truth["REASONING_NUANCE"] == 1.217 and truth["TOXICITY"] == -0.659
    assert {"log_score", "user_id", "conversation_id", "model_name"} <= set(df.columns)


def test_the_study_file_names_the_plugin_generator_and_checks_at_a_tiny_scale():
    study = load_study(STUDY)
    assert study.generate == "pybrms.papers.kyrychenko2025.study:generate"
    study.conditions["scale"] = [0.02]
    tasks, notes = build_tasks(study, reps=3)
    assert [t.name for t in tasks] == [
        f"scale-0.02_slopes-homogeneous__r000{r}__lme4" for r in range(3)]
