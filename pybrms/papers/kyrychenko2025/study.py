"""Analysis 1b's coverage study as a pybrms simulation study (the paper's data-generating side).

``examples/studies/kyrychenko2025_1b_coverage.toml`` names :func:`generate` as its
data-generating mechanism (``"pybrms.papers.kyrychenko2025.study:generate"``): each replicate
simulates PRISM-shaped files with the plugin's simulator (:func:`~.simulate.simulate_prism`,
its seed drawn from the replicate's own numpy stream), builds the analysis frames as the
replication does and returns Analysis 1b's rows (all conversations) with the true slopes of
Table 2(b) "all". With ``slopes = "homogeneous"`` every response has those slopes, so the
single-slope 1b model is correctly specified and its 95% intervals should cover them 95% of
the time: the check ``benchmarks/recovery_coverage.py`` ran seed by seed, now on the shared
run engine (checkpoints, resume, Dask) with rsimsum's measures and their Monte Carlo SEs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ...spec.terms import fixed_terms
from .frames import build_frames
from .replicate.plan import build_plan
from .replicate.runner import unit_data
from .simulate import simulate_prism


def analysis_1b_all():
    """The replication's unit of model 1b_all (formula, family, frame options)."""
    plan = build_plan(["1b"], ["brms", "lme4"], convo_types=["all"], reasoning_nuance="product")
    return plan, plan.unit_of("1b_all", "lme4")


def generate(rng: np.random.Generator, scale: float = 1.0, slopes: str = "homogeneous"
             ) -> tuple[pd.DataFrame, dict[str, float]]:
    """One simulated PRISM-shaped data set: Analysis 1b's rows and the true slopes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The replicate's stream; the simulator's seed is drawn from it.
    scale : float
        1.0: the paper's counts (29,020 first-turn responses of 1,394 users).
    slopes : {"homogeneous", "paper"}
        ``simulate_prism``'s slopes (homogeneous: the 1b model is correctly specified).

    Returns
    -------
    (DataFrame, dict)
        The rows the 1b_all model fits, and ``{predictor: true slope}``.
    """
    seed = int(rng.integers(1, 2**31 - 1))
    plan, unit = analysis_1b_all()
    with tempfile.TemporaryDirectory(prefix="pybrms-1b-") as tmp:
        folder = Path(tmp)
        simulate_prism(folder, seed=seed, scale=float(scale), reasoning_nuance="product",
                       slopes=str(slopes))
        truth = json.loads((folder / "truth.json").read_text())["analysis_1b"]
        frames = build_frames(folder, folder / "scores.parquet", **plan.frame_options)
        df = unit_data(frames, unit)
    predictors = {v for term in fixed_terms(unit.model.formula) for v in term}
    return df, {k: float(v) for k, v in truth.items() if k in predictors}
