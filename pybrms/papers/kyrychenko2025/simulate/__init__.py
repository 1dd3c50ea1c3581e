"""Simulate a PRISM-shaped dataset whose outcomes follow the paper's published estimates.

:func:`simulate_prism` is :func:`~.compute.simulate_data` (every table in memory) followed by
:func:`~.write.write_simulation` (the files, atomically). The true model, written to
``truth.json`` beside the data (the derivation of every variance is in
``pybrms/papers/kyrychenko2025/bundled/README.md``):

* Prompt and response attributes (:mod:`.attributes`): eight correlated Perspective-like
  probabilities per prompt; each response attribute follows Analysis 3 (Table 4) plus topic,
  model and noise parts.
* Analysis 1b, the score model (:mod:`.score_model`): the log score's mean follows Table 2b
  (per type, with Table 3's moderation and the toxicity interaction), its residual SD moves
  with the attributes' distance from their interaction's mean.
* Analysis 1a: ``highest`` is derived from the scores exactly as the paper does (max within the
  interaction). Its coefficients follow from the score model: the mean slopes (Table 2b) move
  the highest score one way, the residual-scale slopes ``gamma`` (a response whose attribute is
  above its interaction's mean gets a wider score, so more often the top one) the other. The
  gammas are solved per attribute and conversation type from Table 2a with the measured map of
  :data:`SCALE_CALIBRATION` (:func:`score_scale`), so Table 2a and 2b hold together in sign;
  ``truth.json`` keeps the published 1a values under ``published_not_imposed``.
* Because those slopes vary (by type, by moderator, with the prompt's toxicity), the plain 1b
  model, which has one slope per attribute, estimates a weighted average of them, not exactly
  Table 2b's "all" row; ``slopes="homogeneous"`` removes that variation (recovery checks).

Every published coefficient comes from the paper's tables as transcribed in
``comparisons/published`` (:func:`published_truth`): one source for the simulator and the
comparisons.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .compute import SimulatedData, check_options, simulate_data
from .params import (
    EMPTY_RESPONSE_RATE,
    ENGLISH_CONVERSATIONS,
    MODELS,
    N_ENGLISH_USERS,
    N_SURVEY,
    N_USERS_WITH_CONVERSATIONS,
    PROMPT_LOGIT_MEAN,
    PROMPT_LOGIT_SD,
    RAW_CONVERSATIONS,
    RESPONSE_MEAN,
    RESPONSE_SD,
    SCALE_CALIBRATION,
    SCORE_MODEL,
    SCORED_AT,
    TOPIC_SD,
    TOPIC_STREAM,
)
from .score_model import ceiling_shift
from .truth import PublishedTruth, published_truth, score_scale
from .write import check_format, write_simulation, write_table

__all__ = [
    "EMPTY_RESPONSE_RATE", "ENGLISH_CONVERSATIONS", "MODELS", "N_ENGLISH_USERS", "N_SURVEY",
    "N_USERS_WITH_CONVERSATIONS", "PROMPT_LOGIT_MEAN", "PROMPT_LOGIT_SD", "RAW_CONVERSATIONS",
    "RESPONSE_MEAN", "RESPONSE_SD", "SCALE_CALIBRATION", "SCORED_AT", "SCORE_MODEL", "TOPIC_SD",
    "TOPIC_STREAM", "PublishedTruth", "SimulatedData", "SimulationResult", "ceiling_shift",
    "published_truth", "score_scale", "simulate_data", "simulate_prism", "write_simulation",
    "write_table",
]


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate_prism` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    files : dict of str to Path
        ``survey``, ``conversations``, ``utterances``, ``metadata``, ``scores``, ``truth``.
    counts : dict of str to int
        Row and entity counts of the simulated data.
    seconds : float
        Wall time.
    """

    out: Path
    files: dict[str, Path]
    counts: dict[str, int]
    seconds: float


def simulate_prism(
    out: str | os.PathLike,
    seed: int,
    scale: float = 1.0,
    *,
    reasoning_nuance: str = "mean",
    fmt: str = "jsonl",
    slopes: str = "paper",
) -> SimulationResult:
    """Simulate the four PRISM files, a scores file and ``truth.json``.

    Parameters
    ----------
    out : path
        Output folder (created if needed). Files are written atomically.
    seed : int
        Seed of :func:`numpy.random.default_rng`; equal seeds give identical files.
    scale : float, default 1.0
        1.0 reproduces the paper's counts (1,394 English users; 7,960 English conversations:
        3,093 unguided, 2,427 controversy guided, 2,440 values guided; 21 models).
    reasoning_nuance : {"mean", "product"}
        How the true model's REASONING_NUANCE is built from REASONING and NUANCE.
    fmt : {"jsonl", "jsonl.gz", "parquet"}
        File format of the four PRISM files (the scores file is always parquet).
    slopes : {"paper", "homogeneous"}
        ``"paper"`` imposes Table 2b per type, Table 3's moderation and the toxicity interaction,
        so the slopes vary and the single-slope 1b model estimates a weighted average of them
        (not exactly Table 2b "all"). ``"homogeneous"`` gives every response Table 2b "all"'s
        slopes (per-type deviations, moderation and interaction set to 0 in the truth), so the
        1b model's linear predictor is correctly specified, for recovery checks. The random
        draws are the same in both modes.

    Returns
    -------
    SimulationResult
        Paths, counts and timing.

    Raises
    ------
    SpecError
        On an unknown ``reasoning_nuance``, ``slopes`` or ``fmt``, or a non-positive ``scale``,
        before anything is drawn or written.
    """
    check_options(reasoning_nuance, slopes, scale)
    check_format(fmt)
    t0 = time.perf_counter()
    data = simulate_data(seed, scale, reasoning_nuance=reasoning_nuance, slopes=slopes)
    files = write_simulation(data, out, fmt)
    return SimulationResult(out=Path(out), files=files, counts=data.counts,
                            seconds=time.perf_counter() - t0)
