"""Analysis frames of the paper (Analyses 1a, 1b, 2 and 3) from PRISM data and a scores table.

Every choice the paper leaves open is an explicit option recorded in :class:`FrameReport`:
how REASONING_NUANCE is built (``"product"`` or ``"mean"``) and how ties for the highest score
are treated. Row counts after every step are reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from ...errors import DataError, SpecError
from .prism import PrismData, Step, first_turn_responses, load_prism, make_step
from .scoring.base import ATTRIBUTES, check_scores, text_sha256

ArrayLike = TypeVar("ArrayLike", np.ndarray, pd.Series, float)

#: The paper's seven predictors (REASONING and NUANCE combined into REASONING_NUANCE).
PREDICTORS: tuple[str, ...] = (
    "AFFINITY",
    "COMPASSION",
    "CURIOSITY",
    "PERSONAL_STORY",
    "REASONING_NUANCE",
    "RESPECT",
    "TOXICITY",
)
#: The analysis frames :func:`build_frames` returns, one per analysis of the paper.
FRAMES: tuple[str, ...] = ("1a", "1b", "2", "3")
#: The prompt's attributes, as predictors of Analysis 3.
HUMAN_PREDICTORS: tuple[str, ...] = tuple(f"{p}_human" for p in PREDICTORS)
#: Allowed constructions of REASONING_NUANCE.
RN_CONSTRUCTIONS: tuple[str, ...] = ("product", "mean")
#: Allowed rules for ties at the maximum score of an interaction.
TIES_RULES: tuple[str, ...] = ("all", "first", "drop")
MODERATORS: tuple[str, ...] = ("younger", "male", "white", "high_values")
PREFER_NOT = "Prefer not to say"
ID_COLUMNS = ("utterance_id", "interaction_id", "conversation_id", "user_id", "model_name",
              "conversation_type")


def combine_reasoning_nuance(reasoning: ArrayLike, nuance: ArrayLike, how: str) -> ArrayLike:
    """Combine REASONING and NUANCE probabilities into REASONING_NUANCE.

    Parameters
    ----------
    reasoning, nuance : array-like
        Probabilities in [0, 1].
    how : {"product", "mean"}
        ``"product"`` multiplies them (the Figure 1 caption), ``"mean"`` averages them (one
        reading of "collapsed" in the Methods).

    Returns
    -------
    array-like
        The combined variable.

    Raises
    ------
    SpecError
        If ``how`` is not one of :data:`RN_CONSTRUCTIONS`.
    """
    if how == "product":
        return reasoning * nuance
    if how == "mean":
        return (reasoning + nuance) / 2.0
    raise SpecError(f"reasoning_nuance must be one of {RN_CONSTRUCTIONS}, got {how!r}")


@dataclass
class FrameReport:
    """Provenance of :func:`build_frames`: options and row counts at each step.

    Attributes
    ----------
    options : dict
        ``reasoning_nuance``, ``ties``, ``missing``, the English rule and the scorer names.
    steps : list of Step
        Counts after each selection step, in order.
    frames : dict of str to int
        Rows of each analysis frame.
    notes : list of str
        Departures from the paper and anything dropped.
    conversation_types : dict of str to int
        Conversations per conversation type in frames 1a/1b/3 (the paper: 3,093 unguided,
        2,427 controversy guided, 2,440 values guided).
    """

    options: dict
    steps: list[Step] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    conversation_types: dict[str, int] = field(default_factory=dict)

    def step(self, name: str) -> Step:
        """Return the step called ``name``.

        Raises
        ------
        KeyError
            If there is no such step.
        """
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict:
        """Return the report as plain data (JSON-serialisable)."""
        return {"options": self.options, "steps": [s.to_dict() for s in self.steps],
                "frames": self.frames, "conversation_types": self.conversation_types,
                "notes": list(self.notes)}

    def __str__(self) -> str:
        """Render the steps as a table."""
        lines = [f"{'step':<44}{'rows':>8}{'convs':>8}{'users':>7}{'dropped':>9}"]
        for s in self.steps:
            lines.append(f"{s.name:<44}{s.rows:>8}{s.conversations:>8}{s.users:>7}"
                         f"{s.dropped:>9}")
        lines += [f"frame {k}: {v} rows" for k, v in self.frames.items()]
        lines += [f"conversations {k}: {v}" for k, v in self.conversation_types.items()]
        lines += [f"option {k} = {v}" for k, v in self.options.items()]
        return "\n".join(lines + self.notes)


@dataclass
class AnalysisFrames:
    """The four analysis frames and their report.

    Attributes
    ----------
    frames : dict of str to DataFrame
        Keys ``"1a"``, ``"1b"``, ``"2"``, ``"3"``.
    report : FrameReport
        Options and counts.
    """

    frames: dict[str, pd.DataFrame]
    report: FrameReport

    def __getitem__(self, key: str) -> pd.DataFrame:
        """Return frame ``key`` (``"1a"``, ``"1b"``, ``"2"`` or ``"3"``)."""
        return self.frames[key]


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read a scores table (parquet or CSV) and check it.

    Parameters
    ----------
    path : path
        ``.parquet`` or ``.csv`` file with ``text_sha256`` and the eight attribute columns.

    Returns
    -------
    DataFrame
        The checked table (see :func:`check_scores`).

    Raises
    ------
    DataError
        When ``text_sha256`` or an attribute column is missing, or a score is outside [0, 1].
    """
    path = Path(path)
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return check_scores(df, path.name)


def _attach(df: pd.DataFrame, scores: pd.DataFrame, text_col: str, suffix: str, how: str):
    keys = df[text_col].map(text_sha256)
    sc = scores.set_index("text_sha256")
    found = keys.isin(sc.index)
    err = pd.Series(None, index=df.index, dtype=object)
    err[found] = sc.loc[keys[found], "error"].to_numpy()
    out = {}
    for a in ATTRIBUTES:
        col = pd.Series(np.nan, index=df.index)
        col[found] = sc.loc[keys[found], a].to_numpy()
        out[a] = col
    out["REASONING_NUANCE"] = combine_reasoning_nuance(out["REASONING"], out["NUANCE"], how)
    cols = {f"{p}{suffix}": out[p] for p in PREDICTORS}
    return pd.DataFrame(cols, index=df.index), ~found, err.notna() & found


def _highest(df: pd.DataFrame, ties: str) -> tuple[pd.DataFrame, int]:
    """Add ``highest`` (1 for the maximum score of the interaction) under the ties rule."""
    mx = df.groupby("interaction_id")["score"].transform("max")
    at_max = df["score"] == mx
    n_max = at_max.groupby(df["interaction_id"]).transform("sum")
    tied = n_max > 1
    n_tied_inter = int(df.loc[tied, "interaction_id"].nunique())
    if ties == "all":
        df = df.assign(highest=at_max.astype(int))
    elif ties == "first":
        first = df.loc[at_max].sort_values("within_turn_id").groupby("interaction_id").head(1)
        df = df.assign(highest=df.index.isin(first.index).astype(int))
    else:
        df = df.loc[~tied].assign(highest=at_max[~tied].astype(int))
    return df, n_tied_inter


def build_frames(
    data: PrismData | str | os.PathLike,
    scores: pd.DataFrame | str | os.PathLike,
    *,
    reasoning_nuance: str,
    ties: str,
    missing: str = "error",
) -> AnalysisFrames:
    """Build the paper's analysis frames.

    Parameters
    ----------
    data : PrismData or path
        Loaded PRISM tables, or the folder holding them.
    scores : DataFrame or path
        Scores table (``text_sha256`` + the eight attributes, optional ``error``); prompts and
        responses are matched by the SHA-256 of their text.
    reasoning_nuance : {"product", "mean"}
        Construction of REASONING_NUANCE (required: the paper is ambiguous).
    ties : {"all", "first", "drop"}
        Ties at an interaction's maximum score: ``"all"`` marks every tied response highest,
        ``"first"`` only the lowest ``within_turn_id`` (PRISM randomises it), ``"drop"`` removes
        interactions with a tie at the maximum.
    missing : {"error", "drop"}
        Utterances whose user lacks a survey row or whose conversation lacks metadata: raise, or
        drop and count.

    Returns
    -------
    AnalysisFrames
        Frames ``"1a"``/``"1b"`` (response rows: ids, ``score``, ``log_score``, ``highest``, the
        seven predictors and their ``*_human`` prompt counterparts), ``"2"`` (plus the
        moderators, "Prefer not to say" removed) and ``"3"`` (response attributes with the
        prompt's ``*_human`` attributes), and the :class:`FrameReport`.

    Raises
    ------
    SpecError
        For an unknown option value.
    DataError
        For malformed scores, or missing survey/metadata rows when ``missing="error"``.
    """
    if reasoning_nuance not in RN_CONSTRUCTIONS:
        raise SpecError(f"reasoning_nuance must be one of {RN_CONSTRUCTIONS}, "
                        f"got {reasoning_nuance!r}")
    if ties not in TIES_RULES:
        raise SpecError(f"ties must be one of {TIES_RULES}, got {ties!r}")
    if not isinstance(data, PrismData):
        data = load_prism(data)
    if not isinstance(scores, pd.DataFrame):
        scores = read_scores(scores)
    else:
        scores = check_scores(scores)
    scorers = sorted(scores["scorer"].dropna().unique()) if "scorer" in scores else []
    stamps = scores["scored_at"].dropna().astype(str) if "scored_at" in scores else pd.Series([])
    report = FrameReport(options={
        "reasoning_nuance": reasoning_nuance, "ties": ties, "missing": missing,
        "english_rule": "conversation kept when all its metadata rows have en_flag true",
        "highest_rule": "max score within interaction_id, over first-turn non-empty responses",
        "scorers": [str(s) for s in scorers],
        "scored_at": [stamps.min(), stamps.max()] if len(stamps) else None,
    })
    others = [str(s) for s in scorers if s != "perspective"]
    if others:
        report.notes.append(f"deviation from the paper: attribute scores from {others}, not "
                            f"(only) Perspective API")
    if not scorers:
        report.notes.append("the scores table does not say which scorer produced it")
    df, steps = first_turn_responses(data, missing=missing)
    report.steps += steps

    df, n_tied = _highest(df, ties)
    n_single = int((df.groupby("interaction_id").size() == 1).sum())
    n_diff = int((df["highest"].astype(bool) != df["if_chosen"].astype(bool)).sum())
    report.steps.append(make_step(f"highest score (ties={ties})", df, report.steps[-1].rows,
                                  f"{n_tied} interactions have a tie at the maximum; {n_single} "
                                  f"have a single response left; highest differs from PRISM's "
                                  f"if_chosen in {n_diff} rows"))
    resp, r_missing, r_error = _attach(df, scores, "model_response", "", reasoning_nuance)
    hum, h_missing, h_error = _attach(df, scores, "user_prompt", "_human", reasoning_nuance)
    df = pd.concat([df, resp, hum], axis=1)
    before = len(df)
    drop = r_missing | h_missing | r_error | h_error
    df = df.loc[~drop]
    report.steps.append(make_step("scored prompt and response", df, before,
                                  f"unscored response {int(r_missing.sum())}, response error "
                                  f"{int(r_error.sum())}, unscored prompt {int(h_missing.sum())}, "
                                  f"prompt error {int(h_error.sum())}"))
    if int(drop.sum()):
        report.notes.append(f"{int(drop.sum())} rows dropped for missing or refused scores")
    df = df.assign(log_score=np.log(df["score"].astype(float)))
    base_cols = [*ID_COLUMNS, "turn", "within_turn_id", "score", "log_score", "highest",
                 *PREDICTORS, *HUMAN_PREDICTORS]
    frame1 = df[base_cols].reset_index(drop=True)

    age, gender, eth = df["age"], df["gender"], df["ethnicity_simplified"]
    prefer = (age == PREFER_NOT) | (gender == PREFER_NOT) | (eth == PREFER_NOT)
    d2 = df.loc[~prefer]
    report.steps.append(make_step('moderators: drop "Prefer not to say"', d2, len(df),
                                  "age, gender or ethnicity 'Prefer not to say'"))
    d2 = d2.assign(
        younger=d2["age"].isin(["18-24 years old", "25-34 years old", "35-44 years old"]),
        male=d2["gender"] == "Male",
        white=d2["ethnicity_simplified"] == "White",
        high_values=d2["stated_values"] > 50,
    )
    frame2 = d2[[*base_cols, *MODERATORS]].reset_index(drop=True)
    frame3 = frame1.copy()
    frames = {"1a": frame1, "1b": frame1.copy(), "2": frame2, "3": frame3}
    report.frames = {k: len(v) for k, v in frames.items()}
    report.conversation_types = {
        str(k): int(v) for k, v in
        frame1.groupby("conversation_type")["conversation_id"].nunique().items()}
    if not len(frame1):
        raise DataError("no rows left for the analysis frames; see the report steps: "
                        + "; ".join(f"{s.name}: {s.rows}" for s in report.steps))
    return AnalysisFrames(frames=frames, report=report)
