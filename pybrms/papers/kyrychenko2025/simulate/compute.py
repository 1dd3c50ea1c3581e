"""The whole simulated dataset in memory: draws in a fixed order, no files.

:func:`simulate_data` is the one place that fixes the order of the random draws; the same
seed gives the same tables (and, written by :mod:`.write`, the same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ....errors import SpecError
from ..frames import RN_CONSTRUCTIONS
from ..prism import CONVERSATION_TYPES
from .attributes import FirstTurn, draw_first_turn, draw_prompts, draw_responses
from .params import MODELS, RAW_CONVERSATIONS, TOPIC_STREAM
from .population import Population, draw_population
from .score_model import draw_scores, score_intercept
from .tables import (
    conversation_table,
    metadata_table,
    scores_table,
    turn_rows,
    utterance_table,
)
from .truth import generating_truth, homogeneous, published_truth

SLOPES = ("paper", "homogeneous")


@dataclass(frozen=True)
class SimulatedData:
    """A simulated PRISM-shaped dataset, before it is written.

    Attributes
    ----------
    survey, conversations, utterances, metadata : DataFrame
        PRISM's four tables.
    scores : DataFrame
        One row per scored text: ``text_sha256``, the eight Perspective attributes, ``error``,
        ``scored_at``, ``scorer``.
    truth : dict
        The generating model, with ``seed``, ``scale`` and ``counts`` (``truth.json``).
    counts : dict of str to int
        Row and entity counts.
    """

    survey: pd.DataFrame
    conversations: pd.DataFrame
    utterances: pd.DataFrame
    metadata: pd.DataFrame
    scores: pd.DataFrame
    truth: dict[str, Any]
    counts: dict[str, int]


def check_options(reasoning_nuance: str, slopes: str, scale: float) -> None:
    """Raise :class:`~pybrms.errors.SpecError` on an option :func:`simulate_data` cannot use."""
    if reasoning_nuance not in RN_CONSTRUCTIONS:
        raise SpecError(f"reasoning_nuance must be one of {RN_CONSTRUCTIONS}, "
                        f"got {reasoning_nuance!r}")
    if slopes not in SLOPES:
        raise SpecError(f"slopes must be 'paper' or 'homogeneous', got {slopes!r}")
    if not scale > 0:
        raise SpecError(f"scale must be positive, got {scale!r}")


def simulate_data(seed: int, scale: float = 1.0, *, reasoning_nuance: str = "mean",
                  slopes: str = "paper") -> SimulatedData:
    """Simulate the four PRISM tables, the scores and the truth (no files).

    Parameters are those of :func:`~pybrms.papers.kyrychenko2025.simulate.simulate_prism`
    (without ``out`` and ``fmt``).

    Returns
    -------
    SimulatedData
    """
    check_options(reasoning_nuance, slopes, scale)
    rng = np.random.default_rng(seed)
    pop = draw_population(rng, scale)
    first = draw_first_turn(rng, pop.n_conv)
    prompt, human = draw_prompts(rng, pop.n_conv, reasoning_nuance)
    pub = published_truth()
    # the topic parts come from their own stream: every main-stream draw stays where it was
    rng_topic = np.random.default_rng([seed, TOPIC_STREAM])
    resp = draw_responses(rng, rng_topic, pub, human, first, pop.n_conv, reasoning_nuance)

    english = pop.english
    type_shares = {t: float(np.mean(pop.conv_type[english] == t)) for t in CONVERSATION_TYPES}
    truth = generating_truth(pub, reasoning_nuance, type_shares, pop.moderator_shares,
                             float(human["TOXICITY"].mean()), 0.0)
    if slopes != "paper":
        truth = homogeneous(truth)
    truth["analysis_1b"]["Intercept"] = score_intercept(truth, resp)
    score, empty = draw_scores(rng, truth, resp, human, pop, first)

    rows = turn_rows(rng, first, score, pop.n_turns)
    utterances = utterance_table(rng, rows, pop, empty)
    scores = scores_table(utterances, rows["row"].to_numpy(), resp, prompt)
    conversations = conversation_table(rng, utterances, pop)
    metadata = metadata_table(utterances, pop)
    counts = count(pop, first, utterances, empty, scores)
    truth["seed"] = seed
    truth["scale"] = scale
    truth["counts"] = counts
    return SimulatedData(survey=pop.survey, conversations=conversations, utterances=utterances,
                         metadata=metadata, scores=scores, truth=truth, counts=counts)


def count(pop: Population, first: FirstTurn, utterances: pd.DataFrame, empty: np.ndarray,
          scores: pd.DataFrame) -> dict[str, int]:
    """Row and entity counts of a simulated dataset (``truth.json``'s ``counts``)."""
    english, ctype = pop.english, pop.conv_type
    return {
        "survey_users": len(pop.survey),
        "users_with_conversations": pop.n_conv_users,
        "conversations": pop.n_conv,
        "english_conversations": int(english.sum()),
        "english_users": int(len(np.unique(pop.conv_user[english]))),
        **{f"english_{t.replace(' ', '_')}": int((english & (ctype == t)).sum())
           for t in RAW_CONVERSATIONS},
        "utterances": len(utterances),
        "interactions": int(utterances["interaction_id"].nunique()),
        "first_turn_responses": first.n,
        "english_first_turn_responses": int(english[first.conv].sum()),
        "empty_first_turn_responses": int(empty.sum()),
        "english_empty_first_turn_responses": int((empty & english[first.conv]).sum()),
        "models": len(MODELS),
        "scored_texts": len(scores),
    }
