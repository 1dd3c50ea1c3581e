"""Simulate a PRISM-shaped dataset whose outcomes follow the paper's published estimates.

The true model (written to ``truth.json`` beside the data; the derivation of every variance is
in ``pybrms/data/bundled/README.md``) is:

* Prompt attributes: eight correlated Perspective-like probabilities (logit-normal; latent
  REASONING-NUANCE correlation 0.9), logit SDs :data:`PROMPT_LOGIT_SD`.
* Analysis 3: each response attribute = intercept + Table 4 coefficients x the prompt's attributes
  + a conversation ("topic") effect (:data:`TOPIC_SD`, drawn from its own random stream) + a
  model (LLM) effect + noise (:data:`RESPONSE_SD`; centred gamma for TOXICITY), clipped to
  [0.001, 0.999]; REASONING and NUANCE are then split from REASONING_NUANCE so that the chosen
  construction returns it exactly and corr(R, N) ~ 0.9.
* Analysis 1b (the score model), on the log scale::

      log(score) = b0 + sum_k slope_k * x_k + b_int * TOXICITY * (TOXICITY_human - mean)
                   + u_user + u_user:conversation + u_model + e,
      e ~ N(0, s_i^2),  log s_i = log sd_residual + sum_k gamma_k * (x_ik - mean_conv x_k)

  with ``slope_k = beta_k (Table 2b, all) + type deviation (Table 2b per type, centred on the
  type shares) + sum_m gamma_mk * (moderator_m - share_m)`` (Table 3). Centring keeps the
  population-average slope equal to Table 2b "all", so the plain Analysis 1b model recovers it.
  The score is ``round(exp(log score))`` clipped to 1..100; the location is shifted up by the
  expected loss at the ceiling (:func:`ceiling_shift`) so the observed log score's mean stays
  the linear predictor.
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
``pybrms/comparisons/published`` (:func:`published_truth`, through
:func:`pybrms.compare.published.load_published`): one source for the simulator and the
comparisons.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...atomic import atomic_path, atomic_write_bytes
from ...errors import SpecError
from .frames import MODERATORS, PREDICTORS, RN_CONSTRUCTIONS, combine_reasoning_nuance
from .prism import CONVERSATION_TYPES
from .published import CONVO_TYPE_LABELS, load_published
from .scoring.base import ATTRIBUTES, text_sha256

#: PRISM raw counts (DATA.md) and the paper's English subset, per conversation type. The
#: simulator lays out conversations in this order (DATA.md's), which fixes its random draws.
RAW_CONVERSATIONS = {"unguided": 3113, "controversy guided": 2438, "values guided": 2460}
ENGLISH_CONVERSATIONS = {"unguided": 3093, "controversy guided": 2427, "values guided": 2440}
N_SURVEY = 1500
N_USERS_WITH_CONVERSATIONS = 1396
N_ENGLISH_USERS = 1394

MODELS: tuple[tuple[str, str], ...] = (
    ("gpt-4", "openai"), ("gpt-4-1106-preview", "openai"), ("gpt-3.5-turbo", "openai"),
    ("claude-2", "anthropic"), ("claude-2.1", "anthropic"), ("claude-instant-1", "anthropic"),
    ("command", "cohere"), ("command-light", "cohere"), ("command-nightly", "cohere"),
    ("llama-2-7b-chat", "meta"), ("llama-2-13b-chat", "meta"), ("llama-2-70b-chat", "meta"),
    ("mistral-7b-instruct", "mistral"), ("zephyr-7b-beta", "huggingface"),
    ("falcon-7b-instruct", "huggingface"), ("flan-t5-xxl", "google"),
    ("chat-bison", "google"), ("pythia-12b", "huggingface"), ("guanaco-33b", "huggingface"),
    ("luminous-extended-control", "aleph_alpha"), ("luminous-supreme-control", "aleph_alpha"),
)

# Response attribute targets: mean and noise sd (probability scale). The simulator draws the
# response attributes in this order.
RESPONSE_MEAN = {"TOXICITY": 0.07, "AFFINITY": 0.35, "COMPASSION": 0.45, "CURIOSITY": 0.25,
                 "REASONING_NUANCE": 0.50, "PERSONAL_STORY": 0.30, "RESPECT": 0.50}
RESPONSE_SD = {"TOXICITY": 0.0248, "AFFINITY": 0.0078, "COMPASSION": 0.0567,
               "CURIOSITY": 0.0746, "REASONING_NUANCE": 0.0684, "PERSONAL_STORY": 0.0636,
               "RESPECT": 0.0166}
# Conversation-level part of each response attribute (what the conversation's topic adds to
# every response of its first turn beyond the prompt's measured attributes).
TOPIC_SD = {"TOXICITY": 0.0134, "AFFINITY": 0.0657, "COMPASSION": 0.0663, "CURIOSITY": 0.0429,
            "REASONING_NUANCE": 0.0545, "PERSONAL_STORY": 0.0539, "RESPECT": 0.0605}
#: second seed word of the topic stream: ``default_rng([seed, TOPIC_STREAM])``
TOPIC_STREAM = 14
# Prompt attributes: logit-scale location and scale, ATTRIBUTES order.
# REASONING and NUANCE sit at the responses' level (logit 0): with the narrow SDs the Table 4
# errors ask for, prompts far below the responses would make their pooled correlation ~0.99.
PROMPT_LOGIT_MEAN = {"AFFINITY": -1.4, "COMPASSION": -1.3, "CURIOSITY": -0.3, "NUANCE": 0.0,
                     "PERSONAL_STORY": -1.6, "REASONING": 0.0, "RESPECT": -0.4, "TOXICITY": -2.8}
PROMPT_LOGIT_SD = {"AFFINITY": 0.2324, "COMPASSION": 0.3370, "CURIOSITY": 0.4870,
                   "NUANCE": 0.1210, "PERSONAL_STORY": 0.4933, "REASONING": 0.1210,
                   "RESPECT": 0.1577, "TOXICITY": 0.7553}
SCORE_MODEL = {"mean_log_score": 3.1, "sd_user": 0.10, "sd_conversation": 0.32,
               "sd_model": 0.15, "sd_residual": 0.50}
#: How Analysis 1a's coefficients follow from the score model, measured with lme4 at full scale
#: (benchmarks/simulator_calibration.py): 1a coefficient ~ kappa * (1b slope) + delta * gamma,
#: where gamma is the attribute's slope on the log residual SD. Solved for gamma per attribute
#: and conversation type so that Table 2a follows from Table 2b (see score_scale in truth.json).
SCALE_CALIBRATION = {
    "kappa": {"AFFINITY": 0.227, "COMPASSION": 0.349, "CURIOSITY": 0.935, "PERSONAL_STORY": 1.635,
              "REASONING_NUANCE": 1.356, "RESPECT": -0.449, "TOXICITY": 2.242},
    "delta": {"AFFINITY": 0.005, "COMPASSION": 0.179, "CURIOSITY": 0.347, "PERSONAL_STORY": 0.349,
              "REASONING_NUANCE": 0.324, "RESPECT": -0.013, "TOXICITY": 0.41},
    "min_delta": 0.05,
}
EMPTY_RESPONSE_RATE = 0.004
SCORED_AT = "2024-06-01T00:00:00+00:00"


@dataclass(frozen=True)
class PublishedTruth:
    """The paper's estimates the simulator imposes (or records), read from Tables 2-4.

    Attributes
    ----------
    table_2b, table_2a : dict of str to tuple of float
        Analysis 1b (log score) and 1a (highest score) coefficient per predictor, for the
        conversation types of :data:`pybrms.compare.published.CONVO_TYPE_LABELS` in order:
        all, unguided, values guided, controversy guided.
    toxicity_interaction : float
        Table 2, ``TOXICITY:TOXICITY_human``.
    table_3 : dict of str to dict of str to float
        Analysis 2: moderator (:data:`~pybrms.data.frames.MODERATORS` order) -> predictor ->
        the moderator-by-predictor coefficient (``youngerTRUE:TOXICITY``).
    table_4 : dict of str to tuple of float
        Analysis 3: response attribute -> its coefficients on the prompt's attributes
        (``*_human``), in :data:`~pybrms.data.frames.PREDICTORS` order.
    """

    table_2b: dict[str, tuple[float, ...]]
    table_2a: dict[str, tuple[float, ...]]
    toxicity_interaction: float
    table_3: dict[str, dict[str, float]]
    table_4: dict[str, tuple[float, ...]]


@functools.cache
def published_truth(directory: str | os.PathLike | None = None) -> PublishedTruth:
    """Read the generating coefficients from the published Tables 2-4.

    Parameters
    ----------
    directory : str or path-like, optional
        Folder of ``table2.csv``... (default :func:`pybrms.resources.published_dir`).

    Returns
    -------
    PublishedTruth

    Raises
    ------
    KeyError
        If a table lacks a row the simulator needs.
    """
    t2 = load_published("table2", directory)
    est2 = {(r.analysis, r.term, r.convo_type): r.estimate for r in t2.itertuples()}
    est3 = {r.term: r.estimate for r in load_published("table3", directory).itertuples()}
    est4 = {(r.dv, r.term): r.estimate for r in load_published("table4", directory).itertuples()}

    def table2(analysis: str) -> dict[str, tuple[float, ...]]:
        return {p: tuple(est2[analysis, p, label] for label in CONVO_TYPE_LABELS.values())
                for p in PREDICTORS}

    return PublishedTruth(
        table_2b=table2("1b"),
        table_2a=table2("1a"),
        toxicity_interaction=est2["interaction_toxicity", "TOXICITY:TOXICITY_human", "all"],
        table_3={m: {p: est3[f"{m}TRUE:{p}"] for p in PREDICTORS} for m in MODERATORS},
        table_4={dv: tuple(est4[dv, f"{p}_human"] for p in PREDICTORS) for dv in RESPONSE_MEAN},
    )


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


def _scaled(n: int, scale: float, minimum: int = 0) -> int:
    return max(minimum, int(round(n * scale)))


def _write_table(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` atomically as JSONL, gzipped JSONL or parquet, chosen by the suffix."""
    name = path.name
    if name.endswith(".parquet"):
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
        return
    text = df.to_json(orient="records", lines=True, force_ascii=False)
    data = text.encode("utf-8")
    if name.endswith(".gz"):
        import gzip

        data = gzip.compress(data, compresslevel=9, mtime=0)
    atomic_write_bytes(path, data)


def ceiling_shift(mean: np.ndarray, sd: np.ndarray, ceiling: float) -> np.ndarray:
    """Location ``a`` with ``E[min(a + sd * Z, ceiling)] = mean`` for a standard normal ``Z``.

    Scores stop at 100, so a latent log score ``mean + sd * Z`` would be observed lower on
    average the nearer ``mean`` is to the ceiling and the larger ``sd`` is; where ``sd`` moves
    with an attribute (the residual-scale slopes) that would bend Analysis 1b's slope (measured
    before this shift: TOXICITY -0.92 for a generating -0.659 over three full-scale seeds).
    Shifting the location by the expected loss at the ceiling keeps the observed log score's
    conditional mean equal to the linear predictor, so Table 2b stays the 1b model's estimand.
    Solved by Newton's method on ``a - sd * psi((ceiling - a) / sd) = mean``, with
    ``psi(t) = phi(t) - t * (1 - Phi(t))`` (the normal's expected excess over ``t``).
    """
    from scipy.special import ndtr

    # E[min(.)] < ceiling, so a mean at the ceiling has no solution: hold it just below
    target = np.minimum(np.asarray(mean, dtype=float), ceiling - 0.05)
    a = target.copy()
    # the left side is increasing and concave in a, so Newton from a = mean (below the root)
    # climbs to the root without overshooting
    for _ in range(40):
        t = (ceiling - a) / sd
        excess = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi) - t * (1 - ndtr(t))
        a = a - (a - sd * excess - target) / np.maximum(ndtr(t), 1e-12)
    return a


def score_scale(table_2a: dict[str, float], slopes_1b: dict[str, float],
                calibration: dict[str, float] | None = None) -> dict[str, float]:
    """Slopes of the log residual SD that give Table 2a's coefficients beside Table 2b's.

    ``gamma_k = (a_k - kappa * b_k) / delta`` with ``a`` the Table 2a coefficients (Analysis
    1a, highest score), ``b`` the imposed 1b slopes and ``kappa``, ``delta`` of
    :data:`SCALE_CALIBRATION` (1a per unit of mean slope, per unit of scale slope).
    """
    cal = calibration or SCALE_CALIBRATION
    return {k: ((table_2a[k] - cal["kappa"][k] * slopes_1b[k]) / cal["delta"][k]
                if abs(cal["delta"][k]) >= cal["min_delta"] else 0.0) for k in PREDICTORS}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _split_reasoning_nuance(
    rn: np.ndarray, how: str, rng: np.random.Generator, rho: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Split REASONING_NUANCE into (REASONING, NUANCE) that combine back to it under ``how``."""
    shrink = (1 - rho) / (1 + rho)
    if how == "mean":
        d = rng.normal(0.0, np.sqrt(np.var(rn) * shrink), rn.shape)
        bound = np.minimum(rn, 1 - rn)
        d = np.clip(d, -bound, bound)
        # rn +/- bound can land a rounding error outside [0, 1]; the caller recombines
        return np.clip(rn + d, 0.0, 1.0), np.clip(rn - d, 0.0, 1.0)
    half = 0.5 * np.log(rn)
    d = rng.normal(0.0, np.sqrt(np.var(half) * shrink), rn.shape)
    bound = -half  # keeps both factors <= 1
    d = np.clip(d, -bound, bound)
    root = np.sqrt(rn)
    # at the bound, sqrt(rn) * exp(-log(rn) / 2) is 1 up to rounding (1.0000000000000002 was
    # seen): clip so both stay probabilities; the caller recombines REASONING_NUANCE from them
    return np.clip(root * np.exp(d), 0.0, 1.0), np.clip(root * np.exp(-d), 0.0, 1.0)


def _survey(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ages = np.array(["18-24 years old", "25-34 years old", "35-44 years old", "45-54 years old",
                     "55-64 years old", "65+ years old", "Prefer not to say"])
    genders = np.array(["Male", "Female", "Non-binary / third gender", "Prefer not to say"])
    eths = np.array(["White", "Black", "Hispanic", "Asian", "Mixed", "Other", "Prefer not to say"])
    age = rng.choice(ages, n, p=[0.22, 0.30, 0.19, 0.13, 0.09, 0.05, 0.02])
    gender = rng.choice(genders, n, p=[0.48, 0.48, 0.025, 0.015])
    eth = rng.choice(eths, n, p=[0.55, 0.09, 0.10, 0.12, 0.07, 0.05, 0.02])
    values = np.clip(np.round(rng.normal(54.3, 26.3, n)), 0, 100).astype(int)
    other = rng.integers(0, 101, (n, 7))
    keys = ("creativity", "fluency", "factuality", "diversity", "safety", "personalisation",
            "helpfulness")
    prefs = [
        {"values": int(values[i]), **{k: int(other[i, j]) for j, k in enumerate(keys)},
         "other": 0, "other_text": ""}
        for i in range(n)
    ]
    ethnicity = [{"self_described": e, "categorised": e, "simplified": e} for e in eth]
    return pd.DataFrame({
        "user_id": [f"user{i}" for i in range(n)],
        "survey_only": False,
        "age": age,
        "gender": gender,
        "ethnicity": ethnicity,
        "stated_prefs": prefs,
    })


def _assign_conversations(rng, scale):
    """Return per-conversation arrays (type, user index, english) with the paper's counts."""
    n_users = _scaled(N_USERS_WITH_CONVERSATIONS, scale, 2)
    n_eng_users = _scaled(N_ENGLISH_USERS, scale, 1)
    n_eng_users = min(n_eng_users, n_users)
    types, english = [], []
    for t in RAW_CONVERSATIONS:
        n_raw = _scaled(RAW_CONVERSATIONS[t], scale, 1)
        n_en = min(n_raw, _scaled(ENGLISH_CONVERSATIONS[t], scale, 1))
        types += [t] * n_raw
        english += [True] * n_en + [False] * (n_raw - n_en)
    types, english = np.array(types), np.array(english)
    order = rng.permutation(len(types))
    types, english = types[order], english[order]
    user = np.empty(len(types), dtype=np.int64)
    activity = rng.gamma(2.0, 1.0, n_eng_users)
    p = activity / activity.sum()
    eng_idx = np.flatnonzero(english)
    if len(eng_idx) < n_eng_users:
        raise ValueError("scale too small: fewer English conversations than English users")
    user[eng_idx[:n_eng_users]] = rng.permutation(n_eng_users)
    user[eng_idx[n_eng_users:]] = rng.choice(n_eng_users, len(eng_idx) - n_eng_users, p=p)
    non_idx = np.flatnonzero(~english)
    only_non = n_users - n_eng_users  # users whose every conversation is non-English
    if len(non_idx) < only_non:
        only_non = len(non_idx)
    user[non_idx[:only_non]] = n_eng_users + np.arange(only_non)
    user[non_idx[only_non:]] = rng.choice(n_eng_users, len(non_idx) - only_non, p=p)
    return types, english, user, n_eng_users + only_non


def _truth(pub: PublishedTruth, how: str, type_shares: dict[str, float],
           mod_shares: dict[str, float], tox_h_mean: float, intercept: float) -> dict:
    table_2b = pub.table_2b
    type_cols = {t: i for i, t in enumerate(CONVERSATION_TYPES, start=1)}  # 0 is "all"
    type_dev = {}
    for k, vals in table_2b.items():
        avg = sum(type_shares[t] * vals[i] for t, i in type_cols.items())
        type_dev[k] = {t: vals[i] - avg for t, i in type_cols.items()}
    per_type = {t: {k: table_2b[k][0] + type_dev[k][t] for k in table_2b} for t in type_cols}
    table_2a = {t: {k: pub.table_2a[k][i] for k in PREDICTORS} for t, i in type_cols.items()}
    scale = {
        "description": (
            "log residual SD = log(sd_residual) + sum_k gamma_k * (x_k - mean x_k), gamma per "
            "conversation type: gamma_k = (Table 2a_k - kappa * 1b slope_k) / delta, so the "
            "highest-score outcome (Analysis 1a) follows Table 2a while the mean log score "
            "follows Table 2b"),
        "calibration": dict(SCALE_CALIBRATION),
        "per_type": {t: score_scale(table_2a[t], per_type[t]) for t in type_cols},
        "all": score_scale({k: pub.table_2a[k][0] for k in PREDICTORS},
                           {k: table_2b[k][0] for k in PREDICTORS}),
    }
    return {
        "description": (
            "Generating model of pybrms.data.simulate; Analysis 1b fixed effects are the "
            "population-average slopes (Table 2b, all)."
        ),
        "reasoning_nuance": how,
        "analysis_1b": {"Intercept": intercept, **{k: table_2b[k][0] for k in PREDICTORS}},
        "analysis_1b_per_type_implied": per_type,
        "type_deviation": type_dev,
        "toxicity_interaction": {
            "TOXICITY:TOXICITY_human": pub.toxicity_interaction,
            "centre_TOXICITY_human": tox_h_mean,
            "note": "uncentred model: TOXICITY slope = beta - interaction * centre",
        },
        "analysis_2_moderation": {m: dict(gam) for m, gam in pub.table_3.items()},
        "moderator_shares": mod_shares,
        "analysis_3": {dv: dict(zip([f"{p}_human" for p in PREDICTORS], row, strict=True))
                       for dv, row in pub.table_4.items()},
        "score_model": SCORE_MODEL,
        "score_scale": scale,
        "published_not_imposed": {"analysis_1a": {k: v[0] for k, v in pub.table_2a.items()},
                                  "analysis_1a_per_type": dict(pub.table_2a)},
        "type_shares": type_shares,
    }


def _homogeneous(truth: dict) -> dict:
    """The truth with every 1b slope equal to Table 2b "all" (``slopes="homogeneous"``)."""
    slopes = truth["analysis_1b"]
    truth = json.loads(json.dumps(truth))
    truth["slopes"] = "homogeneous"
    for by_type in truth["type_deviation"].values():
        for t in by_type:
            by_type[t] = 0.0
    for t in truth["analysis_1b_per_type_implied"]:
        truth["analysis_1b_per_type_implied"][t] = {k: slopes[k] for k in PREDICTORS}
    for m in truth["analysis_2_moderation"]:
        truth["analysis_2_moderation"][m] = {k: 0.0 for k in truth["analysis_2_moderation"][m]}
    truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] = 0.0
    scale = truth["score_scale"]
    for t in scale["per_type"]:
        scale["per_type"][t] = dict(scale["all"])
    truth["description"] += (" slopes='homogeneous': every response has Table 2b 'all' slopes "
                             "and Table 2a 'all''s residual-scale slopes; per-type deviations, "
                             "moderation and the interaction are 0.")
    return truth


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
    """
    if reasoning_nuance not in RN_CONSTRUCTIONS:
        raise SpecError(f"reasoning_nuance must be one of {RN_CONSTRUCTIONS}, "
                        f"got {reasoning_nuance!r}")
    if slopes not in ("paper", "homogeneous"):
        raise SpecError(f"slopes must be 'paper' or 'homogeneous', got {slopes!r}")
    if fmt not in ("jsonl", "jsonl.gz", "parquet"):
        raise SpecError(f"fmt must be 'jsonl', 'jsonl.gz' or 'parquet', got {fmt!r}")
    if not scale > 0:
        raise SpecError(f"scale must be positive, got {scale!r}")
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    # users and conversations --------------------------------------------------------------
    n_survey = max(_scaled(N_SURVEY, scale, 3), _scaled(N_USERS_WITH_CONVERSATIONS, scale, 2))
    survey = _survey(rng, n_survey)
    ctype, english, cuser, n_conv_users = _assign_conversations(rng, scale)
    user_perm = rng.permutation(n_survey)[:n_conv_users]  # which survey rows have conversations
    cuser_id = survey["user_id"].to_numpy()[user_perm[cuser]]
    n_conv = len(ctype)
    conv_id = np.array([f"c{i}" for i in range(n_conv)])
    n_turns = np.minimum(1 + rng.poisson(2.39, n_conv), 12)

    # moderators per survey user
    age = survey["age"].to_numpy()
    known = {
        "younger": age != "Prefer not to say",
        "male": survey["gender"].to_numpy() != "Prefer not to say",
        "white": np.array([e["simplified"] != "Prefer not to say" for e in survey["ethnicity"]]),
        "high_values": np.ones(n_survey, bool),
    }
    value = np.array([p["values"] for p in survey["stated_prefs"]])
    mod = {
        "younger": np.isin(age, ["18-24 years old", "25-34 years old", "35-44 years old"]),
        "male": survey["gender"].to_numpy() == "Male",
        "white": np.array([e["simplified"] == "White" for e in survey["ethnicity"]]),
        "high_values": value > 50,
    }
    mod_shares = {m: float(mod[m][known[m]].mean()) for m in mod}
    user_row = {u: i for i, u in enumerate(survey["user_id"])}
    conv_user_row = np.array([user_row[u] for u in cuser_id])

    # first-turn interactions ---------------------------------------------------------------
    k = rng.choice([2, 3, 4], n_conv, p=[0.05, 0.15, 0.80])
    n_models = len(MODELS)
    picks = np.argsort(rng.random((n_conv, n_models)), axis=1)
    r_conv = np.repeat(np.arange(n_conv), k)  # one row per first-turn response
    pos = np.arange(len(r_conv)) - np.repeat(np.cumsum(k) - k, k)
    r_model = picks[r_conv, pos]
    r_within = np.concatenate([rng.permutation(n) for n in k]).astype(int)
    n_resp = len(r_conv)

    # prompt attributes (one prompt per conversation's first turn)
    cov = np.full((8, 8), 0.25)
    np.fill_diagonal(cov, 1.0)
    i_r, i_n, i_t = ATTRIBUTES.index("REASONING"), ATTRIBUTES.index("NUANCE"), 7
    cov[i_r, i_n] = cov[i_n, i_r] = 0.9
    cov[i_t, :i_t] = cov[:i_t, i_t] = -0.05
    # Cholesky by hand, not rng.multivariate_normal: its default SVD factor depends on the
    # LAPACK build (sign flips), so the same seed gave different files on another install.
    # The product is summed elementwise (no BLAS) so every machine adds in the same order.
    chol = np.linalg.cholesky(cov)
    z = (rng.standard_normal((n_conv, 8))[:, None, :] * chol[None, :, :]).sum(axis=2)
    loc = np.array([PROMPT_LOGIT_MEAN[a] for a in ATTRIBUTES])
    prompt = _sigmoid(loc + np.array([PROMPT_LOGIT_SD[a] for a in ATTRIBUTES]) * z)
    prompt_attr = {a: prompt[:, j] for j, a in enumerate(ATTRIBUTES)}
    human = {p: prompt_attr[p] for p in PREDICTORS if p != "REASONING_NUANCE"}
    human["REASONING_NUANCE"] = combine_reasoning_nuance(
        prompt_attr["REASONING"], prompt_attr["NUANCE"], reasoning_nuance)

    # response attributes (Analysis 3 true model), drawn in RESPONSE_MEAN's order
    pub = published_truth()
    resp = {}
    # conversation-level ("topic") parts of the response attributes come from their own stream,
    # so every draw of the main stream (and so every count) is where it was before they existed
    rng_topic = np.random.default_rng([seed, TOPIC_STREAM])
    for dv in RESPONSE_MEAN:
        coefs = pub.table_4[dv]
        lin = sum(c * human[p] for c, p in zip(coefs, PREDICTORS, strict=True))
        a0 = RESPONSE_MEAN[dv] - lin.mean()
        model_eff = rng.normal(0, RESPONSE_SD[dv] * 0.5, n_models)
        if dv == "TOXICITY":  # right-skewed, bounded below: few responses clip at 0
            noise = rng.gamma(2.0, RESPONSE_SD[dv] / np.sqrt(2.0), n_resp)
            noise -= noise.mean()
            topic = rng_topic.gamma(2.0, TOPIC_SD[dv] / np.sqrt(2.0), n_conv)
            topic -= topic.mean()
        else:
            noise = rng.normal(0, RESPONSE_SD[dv], n_resp)
            topic = rng_topic.normal(0, TOPIC_SD[dv], n_conv)
        resp[dv] = np.clip(a0 + lin[r_conv] + topic[r_conv] + model_eff[r_model] + noise,
                           0.001, 0.999)
    reasoning, nuance = _split_reasoning_nuance(resp["REASONING_NUANCE"], reasoning_nuance, rng)
    resp["REASONING_NUANCE"] = combine_reasoning_nuance(reasoning, nuance, reasoning_nuance)

    # score model (Analysis 1b true model)
    type_shares = {t: float(np.mean(ctype[english] == t)) for t in CONVERSATION_TYPES}
    tox_h_mean = float(human["TOXICITY"].mean())
    truth = _truth(pub, reasoning_nuance, type_shares, mod_shares, tox_h_mean, 0.0)
    vary = slopes == "paper"
    if not vary:
        truth = _homogeneous(truth)
    lin = np.zeros(n_resp)
    r_type = ctype[r_conv]
    r_user = conv_user_row[r_conv]
    for p in PREDICTORS:
        slope = np.full(n_resp, truth["analysis_1b"][p])
        for t in CONVERSATION_TYPES:
            slope[r_type == t] += truth["type_deviation"][p][t]
        for m, gam in truth["analysis_2_moderation"].items():
            dev = np.where(known[m], mod[m] - mod_shares[m], 0.0)
            slope += gam[p] * dev[r_user]
        lin += slope * resp[p]
    lin += (truth["toxicity_interaction"]["TOXICITY:TOXICITY_human"] * resp["TOXICITY"]
            * (human["TOXICITY"][r_conv] - tox_h_mean))
    pop_lin = sum(truth["analysis_1b"][p] * resp[p] for p in PREDICTORS)
    intercept = SCORE_MODEL["mean_log_score"] - float(pop_lin.mean())
    truth["analysis_1b"]["Intercept"] = intercept
    u_user = rng.normal(0, SCORE_MODEL["sd_user"], n_survey)
    u_conv = rng.normal(0, SCORE_MODEL["sd_conversation"], n_conv)
    u_model = rng.normal(0, SCORE_MODEL["sd_model"], n_models)
    # the residual's scale moves with the attributes (Table 2a through score_scale), its mean
    # does not: the 1b model's mean stays correctly specified
    type_index = np.zeros(n_resp, dtype=np.int64)
    for i, t in enumerate(CONVERSATION_TYPES):
        type_index[r_type == t] = i
    log_sd = np.zeros(n_resp)
    per_conv = np.bincount(r_conv, minlength=n_conv)
    for p in PREDICTORS:
        gam = np.array([truth["score_scale"]["per_type"][t][p] for t in CONVERSATION_TYPES])
        conv_mean = np.bincount(r_conv, weights=resp[p], minlength=n_conv) / per_conv
        log_sd += gam[type_index] * (resp[p] - conv_mean[r_conv])
    sd_i = SCORE_MODEL["sd_residual"] * np.exp(log_sd)
    mean_i = intercept + lin + u_user[r_user] + u_conv[r_conv] + u_model[r_model]
    log_score = (ceiling_shift(mean_i, sd_i, np.log(100.0))
                 + sd_i * rng.normal(0, 1.0, n_resp))
    score = np.clip(np.round(np.exp(log_score)), 1, 100).astype(int)
    empty = rng.random(n_resp) < EMPTY_RESPONSE_RATE
    score[empty] = rng.integers(1, 20, int(empty.sum()))

    # utterance rows: first turn, then later turns (two responses of the chosen model) ------
    first = pd.DataFrame({
        "conv": r_conv, "turn": 0, "within_turn_id": r_within, "model": r_model, "score": score,
    })
    first["if_chosen"] = first["score"] == first.groupby("conv")["score"].transform("max")
    chosen_model = first[first["if_chosen"]].groupby("conv")["model"].first().to_numpy()
    later_turns = n_turns - 1
    l_conv = np.repeat(np.repeat(np.arange(n_conv), later_turns), 2)
    l_turn = np.repeat(np.concatenate([np.arange(1, n + 1) for n in later_turns]), 2)
    l_within = np.tile([0, 1], len(l_conv) // 2)
    l_within = np.where(np.repeat(rng.random(len(l_conv) // 2) < 0.5, 2), l_within, 1 - l_within)
    l_score = np.clip(np.round(np.exp(rng.normal(3.5, 0.45, len(l_conv)))), 1, 100).astype(int)
    later = pd.DataFrame({"conv": l_conv, "turn": l_turn, "within_turn_id": l_within,
                          "model": chosen_model[l_conv], "score": l_score})
    later["if_chosen"] = later["score"] == later.groupby(["conv", "turn"])["score"].transform(
        "max")
    first["row"] = np.arange(n_resp)
    later["row"] = -1
    utt = pd.concat([first, later], ignore_index=True)
    utt = utt.sort_values(["conv", "turn", "within_turn_id"], kind="stable").reset_index(drop=True)
    conv_s = conv_id[utt["conv"].to_numpy()]
    turn_s = utt["turn"].astype(str).to_numpy()
    inter_id = np.char.add(np.char.add(conv_s.astype(str), "-t"), turn_s.astype(str))
    utt_id = np.char.add(np.char.add(inter_id, "-"), utt["within_turn_id"].astype(str).to_numpy()
                         .astype(str))
    model_names = np.array([m for m, _ in MODELS])
    providers = np.array([p for _, p in MODELS])
    response_text = np.char.add(
        np.char.add("Simulated reply from ", model_names[utt["model"].to_numpy()]),
        np.char.add(" to ", utt_id.astype(str)))
    is_first = utt["row"].to_numpy() >= 0
    empty_rows = np.zeros(len(utt), bool)
    empty_rows[is_first] = empty[utt["row"].to_numpy()[is_first]]
    response_text = np.where(empty_rows, "EMPTY STRING", response_text)
    prompt_text = np.char.add(np.char.add("Simulated user prompt for ", inter_id), ": what do you think?")
    utterances = pd.DataFrame({
        "utterance_id": utt_id,
        "interaction_id": inter_id,
        "conversation_id": conv_s,
        "user_id": cuser_id[utt["conv"].to_numpy()],
        "turn": utt["turn"].to_numpy().astype(int),
        "within_turn_id": utt["within_turn_id"].to_numpy().astype(int),
        "conversation_type": ctype[utt["conv"].to_numpy()],
        "user_prompt": prompt_text,
        "model_response": response_text,
        "model_name": model_names[utt["model"].to_numpy()],
        "model_provider": providers[utt["model"].to_numpy()],
        "score": utt["score"].to_numpy().astype(int),
        "if_chosen": utt["if_chosen"].to_numpy().astype(bool),
        "included_in_balanced_subset": rng.random(len(utt)) < 0.6,
    })

    # scores: first prompts and non-empty first-turn responses --------------------------------
    rows_first = utt["row"].to_numpy()[is_first]
    rec = {}
    rtext = utterances["model_response"].to_numpy()[is_first]
    keep = rtext != "EMPTY STRING"
    resp_scores = pd.DataFrame({"text_sha256": [text_sha256(t) for t in rtext[keep]]})
    for a in ATTRIBUTES:
        if a == "REASONING":
            vals = reasoning
        elif a == "NUANCE":
            vals = nuance
        else:
            vals = resp[a]
        resp_scores[a] = vals[rows_first][keep]
    first_prompt = utterances.loc[is_first].drop_duplicates("interaction_id")
    pconv = first_prompt["conversation_id"].str[1:].astype(int).to_numpy()
    prompt_scores = pd.DataFrame({"text_sha256": [text_sha256(t) for t in
                                                  first_prompt["user_prompt"]]})
    for a in ATTRIBUTES:
        prompt_scores[a] = prompt_attr[a][pconv]
    scores = pd.concat([prompt_scores, resp_scores], ignore_index=True)
    scores["error"] = None
    scores["scored_at"] = SCORED_AT
    scores["scorer"] = "simulated"
    rec["scored_texts"] = len(scores)

    # conversations and metadata ----------------------------------------------------------------
    conversations = _conversations(utterances, conv_id, cuser_id, ctype, n_turns, rng)
    en_by_conv = dict(zip(conv_id, english, strict=True))
    en = utterances["conversation_id"].map(en_by_conv).to_numpy().astype(bool)
    metadata = pd.DataFrame({
        "column_id": np.char.add("utterances:", utterances["utterance_id"].to_numpy().astype(str)),
        "user_id": utterances["user_id"],
        "conversation_id": utterances["conversation_id"],
        "interaction_id": utterances["interaction_id"],
        "utterance_id": utterances["utterance_id"],
        "pii_flag": False,
        "pii_manual_flag": False,
        "language_flag": np.where(en, "en", "xx"),
        "en_flag": en,
        "moderation_flag": False,
    })

    files = {name: out / f"{name}.{fmt}" for name in
             ("survey", "conversations", "utterances", "metadata")}
    _write_table(survey, files["survey"])
    _write_table(conversations, files["conversations"])
    _write_table(utterances, files["utterances"])
    _write_table(metadata, files["metadata"])
    files["scores"] = out / "scores.parquet"
    _write_table(scores, files["scores"])
    files["truth"] = out / "truth.json"
    truth["seed"] = seed
    truth["scale"] = scale
    eng_conv = english
    counts = {
        "survey_users": n_survey,
        "users_with_conversations": n_conv_users,
        "conversations": n_conv,
        "english_conversations": int(eng_conv.sum()),
        "english_users": int(len(np.unique(cuser_id[eng_conv]))),
        **{f"english_{t.replace(' ', '_')}": int((eng_conv & (ctype == t)).sum())
           for t in RAW_CONVERSATIONS},
        "utterances": len(utterances),
        "interactions": int(utterances["interaction_id"].nunique()),
        "first_turn_responses": n_resp,
        "english_first_turn_responses": int(english[r_conv].sum()),
        "empty_first_turn_responses": int(empty.sum()),
        "english_empty_first_turn_responses": int((empty & english[r_conv]).sum()),
        "models": n_models,
        **rec,
    }
    truth["counts"] = counts
    atomic_write_bytes(files["truth"], json.dumps(truth, indent=2, sort_keys=True).encode())
    return SimulationResult(out=out, files=files, counts=counts,
                            seconds=time.perf_counter() - t0)


def _conversations(utterances: pd.DataFrame, conv_id, cuser_id, ctype, n_turns, rng):
    """Build ``conversations`` rows with their ``conversation_history`` from the utterances."""
    cols = ["conversation_id", "turn", "user_prompt", "model_response", "model_name",
            "model_provider", "score", "if_chosen", "within_turn_id"]
    recs = utterances[cols].to_dict("records")
    history: dict[str, list] = {c: [] for c in conv_id}
    last_turn: dict[str, int] = {}
    for r in recs:
        h = history[r["conversation_id"]]
        if last_turn.get(r["conversation_id"]) != r["turn"]:
            h.append({"turn": r["turn"], "role": "user", "content": r["user_prompt"]})
            last_turn[r["conversation_id"]] = r["turn"]
        h.append({"turn": r["turn"], "role": "model", "content": r["model_response"],
                  "model_name": r["model_name"], "model_provider": r["model_provider"],
                  "score": r["score"], "if_chosen": r["if_chosen"],
                  "within_turn_id": r["within_turn_id"]})
    n = len(conv_id)
    secs = rng.gamma(3.0, 60.0, n).round(1)
    return pd.DataFrame({
        "conversation_id": conv_id,
        "user_id": cuser_id,
        "conversation_type": ctype,
        "opening_prompt": [history[c][0]["content"] for c in conv_id],
        "conversation_turns": n_turns.astype(int),
        "conversation_history": [history[c] for c in conv_id],
        "performance_attributes": [{"values": int(v)} for v in rng.integers(1, 101, n)],
        "choice_attributes": [{"values": int(v)} for v in rng.integers(1, 101, n)],
        "open_feedback": "simulated",
        "generated_datetime": "2023-12-01 00:00:00",
        "timing_duration_s": secs,
        "timing_duration_mins": (secs / 60).round(2),
        "included_in_balanced_subset": rng.random(n) < 0.6,
    })
