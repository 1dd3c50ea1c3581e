"""Users and conversations: the survey, who holds which conversation, the moderators.

Draws from the simulator's main random stream in a fixed order (survey, conversation layout,
which survey rows have conversations, turns per conversation); changing the order changes
every file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .params import (
    ENGLISH_CONVERSATIONS,
    N_ENGLISH_USERS,
    N_SURVEY,
    N_USERS_WITH_CONVERSATIONS,
    RAW_CONVERSATIONS,
)


def scaled(n: int, scale: float, minimum: int = 0) -> int:
    """``n * scale`` rounded, at least ``minimum``."""
    return max(minimum, int(round(n * scale)))


@dataclass(frozen=True)
class Population:
    """The simulated users and their conversations.

    Attributes
    ----------
    survey : DataFrame
        PRISM's ``survey`` table, one row per user.
    conv_id, conv_user, conv_type, english, n_turns : ndarray
        Per conversation: id (``c0``...), its user's id, conversation type, whether it is in
        English, number of turns.
    conv_user_row : ndarray
        Per conversation: its user's row in ``survey``.
    n_conv_users : int
        Users with at least one conversation.
    moderators, known : dict of str to ndarray
        Per survey user and moderator (:data:`~..frames.MODERATORS`): its TRUE value, and
        whether the user answered (``False`` for "Prefer not to say").
    moderator_shares : dict of str to float
        Share of TRUE among the users who answered.
    """

    survey: pd.DataFrame
    conv_id: np.ndarray
    conv_user: np.ndarray
    conv_type: np.ndarray
    english: np.ndarray
    n_turns: np.ndarray
    conv_user_row: np.ndarray
    n_conv_users: int
    moderators: dict[str, np.ndarray]
    known: dict[str, np.ndarray]
    moderator_shares: dict[str, float]

    @property
    def n_conv(self) -> int:
        """Number of conversations."""
        return len(self.conv_id)


def survey_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """PRISM's ``survey`` for ``n`` users (age, gender, ethnicity, stated preferences)."""
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


def assign_conversations(
    rng: np.random.Generator, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Lay out the conversations with the paper's counts times ``scale``.

    Returns
    -------
    types, english, user : ndarray
        Per conversation: type, in English or not, its user's index (English users first).
    n_users : int
        Users with at least one conversation.
    """
    n_users = scaled(N_USERS_WITH_CONVERSATIONS, scale, 2)
    n_eng_users = scaled(N_ENGLISH_USERS, scale, 1)
    n_eng_users = min(n_eng_users, n_users)
    types, english = [], []
    for t in RAW_CONVERSATIONS:
        n_raw = scaled(RAW_CONVERSATIONS[t], scale, 1)
        n_en = min(n_raw, scaled(ENGLISH_CONVERSATIONS[t], scale, 1))
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




def moderators(survey: pd.DataFrame) -> tuple[dict, dict, dict]:
    """Each survey user's moderators: (TRUE values, answered, share of TRUE among answers)."""
    age = survey["age"].to_numpy()
    known = {
        "younger": age != "Prefer not to say",
        "male": survey["gender"].to_numpy() != "Prefer not to say",
        "white": np.array([e["simplified"] != "Prefer not to say" for e in survey["ethnicity"]]),
        "high_values": np.ones(len(survey), bool),
    }
    value = np.array([p["values"] for p in survey["stated_prefs"]])
    mod = {
        "younger": np.isin(age, ["18-24 years old", "25-34 years old", "35-44 years old"]),
        "male": survey["gender"].to_numpy() == "Male",
        "white": np.array([e["simplified"] == "White" for e in survey["ethnicity"]]),
        "high_values": value > 50,
    }
    shares = {m: float(mod[m][known[m]].mean()) for m in mod}
    return mod, known, shares


def draw_population(rng: np.random.Generator, scale: float) -> Population:
    """Draw the survey users and lay out their conversations (PRISM's counts times ``scale``)."""
    n_survey = max(scaled(N_SURVEY, scale, 3), scaled(N_USERS_WITH_CONVERSATIONS, scale, 2))
    survey = survey_table(rng, n_survey)
    ctype, english, cuser, n_conv_users = assign_conversations(rng, scale)
    user_perm = rng.permutation(n_survey)[:n_conv_users]  # which survey rows have conversations
    cuser_id = survey["user_id"].to_numpy()[user_perm[cuser]]
    n_conv = len(ctype)
    conv_id = np.array([f"c{i}" for i in range(n_conv)])
    n_turns = np.minimum(1 + rng.poisson(2.39, n_conv), 12)
    mod, known, shares = moderators(survey)
    user_row = {u: i for i, u in enumerate(survey["user_id"])}
    return Population(
        survey=survey, conv_id=conv_id, conv_user=cuser_id, conv_type=ctype, english=english,
        n_turns=n_turns, conv_user_row=np.array([user_row[u] for u in cuser_id]),
        n_conv_users=n_conv_users, moderators=mod, known=known, moderator_shares=shares,
    )
