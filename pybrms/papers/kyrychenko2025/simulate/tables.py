"""PRISM's four tables and the scores file, built from the simulated draws.

``utterances``, ``conversations``, ``metadata`` follow PRISM's schema (``survey`` comes from
:mod:`.population`); ``scores`` holds one row per scored text (first prompts and non-empty
first-turn responses) as the Perspective scorer writes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.base import ATTRIBUTES, text_sha256
from .attributes import FirstTurn
from .params import MODELS, SCORED_AT
from .population import Population


def turn_rows(rng: np.random.Generator, first: FirstTurn, score: np.ndarray,
              n_turns: np.ndarray) -> pd.DataFrame:
    """One row per response: the first turn, then later turns (two responses of the chosen model).

    Columns ``conv``, ``turn``, ``within_turn_id``, ``model``, ``score``, ``if_chosen`` and
    ``row`` (the response's index in ``first``; -1 for later turns), sorted by conversation,
    turn and ``within_turn_id``. Later turns' scores are drawn here.
    """
    n_conv = len(n_turns)
    first_df = pd.DataFrame({
        "conv": first.conv, "turn": 0, "within_turn_id": first.within, "model": first.model,
        "score": score,
    })
    first_df["if_chosen"] = first_df["score"] == first_df.groupby("conv")["score"].transform("max")
    chosen_model = first_df[first_df["if_chosen"]].groupby("conv")["model"].first().to_numpy()
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
    first_df["row"] = np.arange(first.n)
    later["row"] = -1
    utt = pd.concat([first_df, later], ignore_index=True)
    return utt.sort_values(["conv", "turn", "within_turn_id"], kind="stable").reset_index(drop=True)


def utterance_table(rng: np.random.Generator, utt: pd.DataFrame, pop: Population,
                    empty: np.ndarray) -> pd.DataFrame:
    """PRISM's ``utterances`` from :func:`turn_rows` (``empty``: per first-turn response)."""
    conv_s = pop.conv_id[utt["conv"].to_numpy()]
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
    return pd.DataFrame({
        "utterance_id": utt_id,
        "interaction_id": inter_id,
        "conversation_id": conv_s,
        "user_id": pop.conv_user[utt["conv"].to_numpy()],
        "turn": utt["turn"].to_numpy().astype(int),
        "within_turn_id": utt["within_turn_id"].to_numpy().astype(int),
        "conversation_type": pop.conv_type[utt["conv"].to_numpy()],
        "user_prompt": prompt_text,
        "model_response": response_text,
        "model_name": model_names[utt["model"].to_numpy()],
        "model_provider": providers[utt["model"].to_numpy()],
        "score": utt["score"].to_numpy().astype(int),
        "if_chosen": utt["if_chosen"].to_numpy().astype(bool),
        "included_in_balanced_subset": rng.random(len(utt)) < 0.6,
    })


def scores_table(utterances: pd.DataFrame, first_row: np.ndarray, resp: dict[str, np.ndarray],
                 prompt: dict[str, np.ndarray]) -> pd.DataFrame:
    """The scores file: first prompts, then non-empty first-turn responses.

    Parameters
    ----------
    utterances : DataFrame
        From :func:`utterance_table`.
    first_row : ndarray
        Per utterance: its index among the first-turn responses (-1 for later turns); the
        ``row`` column of :func:`turn_rows`.
    resp, prompt : dict of str to ndarray
        The eight attributes per first-turn response and per conversation's first prompt.
    """
    is_first = first_row >= 0
    rows_first = first_row[is_first]
    rtext = utterances["model_response"].to_numpy()[is_first]
    keep = rtext != "EMPTY STRING"
    resp_scores = pd.DataFrame({"text_sha256": [text_sha256(t) for t in rtext[keep]]})
    for a in ATTRIBUTES:
        resp_scores[a] = resp[a][rows_first][keep]
    first_prompt = utterances.loc[is_first].drop_duplicates("interaction_id")
    pconv = first_prompt["conversation_id"].str[1:].astype(int).to_numpy()
    prompt_scores = pd.DataFrame({"text_sha256": [text_sha256(t) for t in
                                                  first_prompt["user_prompt"]]})
    for a in ATTRIBUTES:
        prompt_scores[a] = prompt[a][pconv]
    scores = pd.concat([prompt_scores, resp_scores], ignore_index=True)
    scores["error"] = None
    scores["scored_at"] = SCORED_AT
    scores["scorer"] = "simulated"
    return scores


def metadata_table(utterances: pd.DataFrame, pop: Population) -> pd.DataFrame:
    """PRISM's ``metadata``: one row per utterance; only the language flags vary."""
    en_by_conv = dict(zip(pop.conv_id, pop.english, strict=True))
    en = utterances["conversation_id"].map(en_by_conv).to_numpy().astype(bool)
    return pd.DataFrame({
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


def conversation_table(rng: np.random.Generator, utterances: pd.DataFrame,
                       pop: Population) -> pd.DataFrame:
    """PRISM's ``conversations``, with each ``conversation_history`` built from the utterances."""
    conv_id, cuser_id, ctype, n_turns = pop.conv_id, pop.conv_user, pop.conv_type, pop.n_turns
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
