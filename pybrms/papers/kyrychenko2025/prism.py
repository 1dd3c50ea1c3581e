"""Load the four PRISM files from a local folder, validate them, and select first-turn responses.

Every malformed value is reported with its file, line (JSONL) or row (parquet) and field. The
selection steps (join, English filter, first turn, ``EMPTY STRING`` drop) each record their row,
conversation and user counts in :class:`Step` objects so that nothing changes silently.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ...errors import DataError, SpecError
from .resources import bundled_dir

FILES: tuple[str, ...] = ("survey", "conversations", "utterances", "metadata")
SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz", ".parquet")
#: PRISM's ``conversation_type`` values, in the order of the paper's Table 2 columns. The one
#: definition: the simulator, the analysis specs and the replication import it.
CONVERSATION_TYPES: tuple[str, ...] = ("unguided", "values guided", "controversy guided")
EMPTY = "EMPTY STRING"

# field -> kind; kinds: str, opt_str (string or null), int, bool, dict, list
SCHEMAS: dict[str, dict[str, str]] = {
    "utterances": {
        "utterance_id": "str", "interaction_id": "str", "conversation_id": "str",
        "user_id": "str", "turn": "int", "within_turn_id": "int",
        "conversation_type": "str", "user_prompt": "str", "model_response": "str",
        "model_name": "str", "model_provider": "str", "score": "int", "if_chosen": "bool",
        "included_in_balanced_subset": "bool",
    },
    "conversations": {
        "conversation_id": "str", "user_id": "str", "conversation_type": "str",
        "opening_prompt": "str", "conversation_turns": "int", "conversation_history": "list",
    },
    "survey": {"user_id": "str", "age": "str", "gender": "str", "ethnicity": "dict",
               "stated_prefs": "dict"},
    # metadata rows about survey answers have no conversation: conversation_id may be null
    "metadata": {"conversation_id": "opt_str", "user_id": "opt_str", "en_flag": "bool"},
}
AGE_CATEGORIES = ("18-24 years old", "25-34 years old", "35-44 years old", "45-54 years old",
                  "55-64 years old", "65+ years old", "Prefer not to say")
GENDERS = ("Male", "Female", "Non-binary / third gender", "Prefer not to say")


@dataclass(frozen=True)
class Step:
    """Counts after one selection step.

    Attributes
    ----------
    name : str
        What the step did.
    rows, conversations, users : int
        Rows, distinct conversations and distinct users left after the step.
    dropped : int
        Rows removed by this step.
    note : str
        The rule applied.
    """

    name: str
    rows: int
    conversations: int
    users: int
    dropped: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        """Return the step as a plain dict."""
        return asdict(self)


def make_step(name: str, df: pd.DataFrame, before: int | None = None, note: str = "") -> Step:
    """Build a :class:`Step` from a frame with ``conversation_id`` and ``user_id`` columns.

    Parameters
    ----------
    name : str
        The step's name.
    df : DataFrame
        Rows left after the step.
    before : int, optional
        Rows before the step (to count the dropped ones).
    note : str
        The rule applied.

    Returns
    -------
    Step
        The counts.
    """
    n = len(df)
    return Step(name, n, int(df["conversation_id"].nunique()), int(df["user_id"].nunique()),
                0 if before is None else before - n, note)


@dataclass
class PrismData:
    """The four validated PRISM tables.

    Each frame carries ``_line``: the 1-based line (JSONL) or row (parquet) it came from, and
    :attr:`sources` names the file each came from, so later errors can point at the input.
    """

    survey: pd.DataFrame
    conversations: pd.DataFrame
    utterances: pd.DataFrame
    metadata: pd.DataFrame
    sources: dict[str, str]


def find_file(folder: str | os.PathLike, name: str) -> Path:
    """Return the path of PRISM file ``name`` in ``folder`` (``.jsonl``, ``.jsonl.gz``, ``.parquet``).

    Parameters
    ----------
    folder : path
        Where to look.
    name : str
        One of :data:`FILES`.

    Returns
    -------
    Path
        The file.

    Raises
    ------
    DataError
        If none exists, or more than one format is present.
    """
    folder = Path(folder)
    found = [folder / f"{name}{s}" for s in SUFFIXES if (folder / f"{name}{s}").exists()]
    if not found:
        raise DataError(f"PRISM file {name!r} not found in {folder} (looked for "
                        f"{', '.join(name + s for s in SUFFIXES)})")
    if len(found) > 1:
        raise DataError(f"PRISM file {name!r} present in several formats in {folder}: "
                        f"{[p.name for p in found]}; keep one")
    return found[0]


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a JSONL (optionally gzipped) or parquet file, adding the ``_line`` column.

    Parameters
    ----------
    path : path
        ``.jsonl``, ``.jsonl.gz`` or ``.parquet`` file.

    Returns
    -------
    DataFrame
        One row per record; ``_line`` is the 1-based line (JSONL) or row (parquet).

    Raises
    ------
    DataError
        On a line that is not a JSON object, naming file and line.
    """
    path = Path(path)
    if path.name.endswith(".parquet"):
        df = pd.read_parquet(path)
        df["_line"] = range(1, len(df) + 1)
        return df
    opener = gzip.open if path.name.endswith(".gz") else open
    records, lines = [], []
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path.name} line {i}: not valid JSON ({exc.msg} at column "
                                f"{exc.colno})") from exc
            if not isinstance(rec, dict):
                raise DataError(f"{path.name} line {i}: expected a JSON object, got "
                                f"{type(rec).__name__}")
            records.append(rec)
            lines.append(i)
    df = pd.DataFrame.from_records(records)
    df["_line"] = lines
    return df


def _where(name: str, path: Path, line: int) -> str:
    unit = "row" if path.name.endswith(".parquet") else "line"
    return f"{path.name} {unit} {line}"


def _is_kind(v, kind: str) -> bool:
    if kind in ("str", "opt_str"):
        return isinstance(v, str)
    if kind == "int":
        return (isinstance(v, int) and not isinstance(v, bool)) or (
            hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu")
    if kind == "bool":
        return isinstance(v, bool) or (hasattr(v, "dtype") and v.dtype.kind == "b")
    if kind == "dict":
        return isinstance(v, dict)
    if kind == "list":
        return isinstance(v, list) or (hasattr(v, "tolist") and not isinstance(v, str))
    return True


def validate(name: str, df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check ``df`` against the PRISM schema of file ``name``; return it with clean dtypes.

    Parameters
    ----------
    name : str
        One of :data:`FILES`.
    df : DataFrame
        As read by :func:`read_table` (with ``_line``).
    path : Path
        The file it came from (named in errors).

    Returns
    -------
    DataFrame
        A copy with integer and boolean fields cast.

    Raises
    ------
    DataError
        Naming file, line and field, for a missing field, a wrong type, a score outside 1..100,
        an unknown conversation type or age/gender category, a negative turn, or stated values
        outside 0..100.
    """
    schema = SCHEMAS[name]
    lines = df["_line"].to_numpy()
    for field, kind in schema.items():
        if field not in df.columns:
            raise DataError(f"{_where(name, path, int(lines[0]) if len(lines) else 1)}: "
                            f"missing field {field!r} (no record has it)")
        col = df[field]
        if (kind == "int" and col.dtype.kind in "iu") or (kind == "bool" and col.dtype.kind == "b"):
            continue
        for i, v in enumerate(col.to_numpy(dtype=object)):
            if v is None or (isinstance(v, float) and v != v):
                if kind == "opt_str":
                    continue
                raise DataError(f"{_where(name, path, int(lines[i]))}: missing field {field!r}")
            if not _is_kind(v, kind):
                if kind == "int" and isinstance(v, float) and v.is_integer():
                    continue
                raise DataError(f"{_where(name, path, int(lines[i]))}: field {field!r} must be "
                                f"{kind}, got {type(v).__name__} {v!r:.60}")
    df = df.copy()
    for field, kind in schema.items():
        if kind == "int":
            df[field] = df[field].astype("int64")
        elif kind == "bool":
            df[field] = df[field].astype(bool)

    def bad(mask, field, what):
        if mask.any():
            i = int(mask.to_numpy().nonzero()[0][0])
            value = df[field].iloc[i]
            value = value.item() if hasattr(value, "item") else value
            raise DataError(f"{_where(name, path, int(lines[i]))}: field {field!r} {what}, "
                            f"got {value!r} ({int(mask.sum())} such rows)")

    if "conversation_type" in schema:
        bad(~df["conversation_type"].isin(CONVERSATION_TYPES), "conversation_type",
            f"must be one of {list(CONVERSATION_TYPES)}")
    if name == "utterances":
        bad((df["score"] < 1) | (df["score"] > 100), "score", "must be an integer in 1..100")
        bad(df["turn"] < 0, "turn", "must be >= 0")
        bad((df["within_turn_id"] < 0) | (df["within_turn_id"] > 3), "within_turn_id",
            "must be in 0..3")
        dup = df["utterance_id"].duplicated()
        bad(dup, "utterance_id", "must be unique")
    if name == "survey":
        bad(~df["age"].isin(AGE_CATEGORIES), "age", f"must be one of {list(AGE_CATEGORIES)}")
        bad(~df["gender"].isin(GENDERS), "gender", f"must be one of {list(GENDERS)}")
        bad(df["user_id"].duplicated(), "user_id", "must be unique")
        for i, (eth, prefs) in enumerate(zip(df["ethnicity"], df["stated_prefs"], strict=True)):
            if "simplified" not in eth or not isinstance(eth["simplified"], str):
                raise DataError(f"{_where(name, path, int(lines[i]))}: field "
                                f"'ethnicity.simplified' missing or not a string")
            v = prefs.get("values")
            if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                    0 <= v <= 100):
                raise DataError(f"{_where(name, path, int(lines[i]))}: field "
                                f"'stated_prefs.values' must be a number in 0..100, got {v!r}")
    return df


def load_prism(folder: str | os.PathLike) -> PrismData:
    """Read and validate the four PRISM files in ``folder``.

    Parameters
    ----------
    folder : path
        Holds ``survey``, ``conversations``, ``utterances`` and ``metadata``, each as ``.jsonl``,
        ``.jsonl.gz`` or ``.parquet``.

    Returns
    -------
    PrismData
        The validated tables.

    Raises
    ------
    DataError
        For a missing file, bad JSON or a schema violation (naming file, line and field).
    """
    tables, sources = {}, {}
    for name in FILES:
        path = find_file(folder, name)
        tables[name] = validate(name, read_table(path), path)
        sources[name] = path.name
    return PrismData(**tables, sources=sources)


def first_turn_responses(data: PrismData, *, missing: str = "error") -> tuple[pd.DataFrame,
                                                                              list[Step]]:
    """Join utterances with survey and metadata; keep English first-turn, non-empty responses.

    Parameters
    ----------
    data : PrismData
        Loaded tables.
    missing : {"error", "drop"}
        What to do with utterances whose user has no survey row or whose conversation has no
        metadata row: raise (default), or drop them and report the count in the steps.

    Returns
    -------
    frame : DataFrame
        One row per English, first-turn, non-empty model response, with the survey columns
        ``age``, ``gender``, ``ethnicity_simplified``, ``stated_values``.
    steps : list of Step
        Counts after each step. English rule: a conversation is English when every metadata
        row of it has ``en_flag`` true.
    """
    if missing not in ("error", "drop"):
        raise SpecError(f"missing must be 'error' or 'drop', got {missing!r}")
    utt = data.utterances
    steps = [make_step("utterances (all rows)", utt)]
    survey = data.survey.assign(
        ethnicity_simplified=[e["simplified"] for e in data.survey["ethnicity"]],
        stated_values=[float(p["values"]) for p in data.survey["stated_prefs"]],
    )[["user_id", "age", "gender", "ethnicity_simplified", "stated_values"]]
    no_survey = ~utt["user_id"].isin(survey["user_id"])
    if no_survey.any():
        if missing == "error":
            i = int(no_survey.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{data.sources['utterances']} line {int(utt['_line'].iloc[i])}: field 'user_id' "
                f"{utt['user_id'].iloc[i]!r} has no row in {data.sources['survey']} "
                f"({int(no_survey.sum())} utterance rows affected; pass missing='drop' to drop "
                f"and count them)")
    before = len(utt)
    df = utt.loc[~no_survey].merge(survey, on="user_id", how="left", validate="many_to_one")
    steps.append(make_step("joined survey", df, before, "utterances whose user has no survey row "
                           "are dropped" if missing == "drop" else "every user has a survey row"))

    meta = data.metadata[data.metadata["conversation_id"].notna()]
    en = meta.groupby("conversation_id")["en_flag"].all()
    no_meta = ~df["conversation_id"].isin(en.index)
    if no_meta.any():
        if missing == "error":
            i = int(no_meta.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{data.sources['utterances']} line {int(df['_line'].iloc[i])}: field "
                f"'conversation_id' {df['conversation_id'].iloc[i]!r} has no row in "
                f"{data.sources['metadata']} ({int(no_meta.sum())} utterance rows affected)")
    before = len(df)
    df = df.loc[~no_meta]
    steps.append(make_step("joined metadata", df, before,
                           "conversations without metadata dropped" if missing == "drop" else ""))
    before = len(df)
    df = df.loc[df["conversation_id"].map(en).astype(bool)]
    steps.append(make_step("English (en_flag)", df, before,
                           "conversation kept when all its metadata rows have en_flag true"))
    before = len(df)
    df = df.loc[df["turn"] == 0]
    steps.append(make_step("first turn (turn == 0)", df, before))
    before = len(df)
    df = df.loc[df["model_response"] != EMPTY]
    steps.append(make_step("drop EMPTY STRING responses", df, before))
    return df.reset_index(drop=True), steps


def bundled_path() -> Path:
    """Folder of the small simulated PRISM dataset shipped with pybrms (scale 0.05).

    It holds the four PRISM files (gzipped JSONL), ``scores.parquet`` and ``truth.json``; its
    README gives the command that made it and its counts at every step.
    """
    return bundled_dir()
