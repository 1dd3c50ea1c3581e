"""Import already-scored files (CSV or parquet with attribute columns) as a scores table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ....errors import DataError
from .base import ATTRIBUTES, check_scores, text_sha256


def _canonical(column: str) -> str | None:
    name = re.sub(r"[^A-Z_]", "_", column.strip().upper())
    name = re.sub(r"_EXPERIMENTAL$", "", name)
    name = re.sub(r"^(PERSPECTIVE_|SCORE_)", "", name)
    return name if name in ATTRIBUTES else None


def import_scores(
    path: str | os.PathLike,
    *,
    text_column: str | None = None,
    scorer: str = "imported",
    scored_at: str | None = None,
) -> pd.DataFrame:
    """Read a scored CSV/parquet file into the canonical scores table.

    Attribute columns are recognised case-insensitively with or without the ``_EXPERIMENTAL``
    suffix (``REASONING_EXPERIMENTAL``, ``reasoning``...). Rows are keyed by ``text_sha256``
    when present, otherwise by the SHA-256 of ``text_column`` (default: a column named ``text``).

    Parameters
    ----------
    path : path
        ``.csv`` or ``.parquet`` file.
    text_column : str, optional
        Column holding the scored text.
    scorer : str
        Recorded as the scores' origin (reported as a deviation when not Perspective).
    scored_at : str, optional
        When the file's scores were produced; default: the ``scored_at`` column if present,
        else ``"unknown"``.

    Returns
    -------
    DataFrame
        ``text_sha256``, the eight attributes, ``error``, ``scored_at``, ``scorer``.

    Raises
    ------
    DataError
        Naming the file and the missing attributes or key column, or a score outside [0, 1].
    """
    path = Path(path)
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    elif path.suffix == ".csv":
        raw = pd.read_csv(path)
    else:
        raise DataError(f"{path.name}: import expects a .csv or .parquet file")
    mapping: dict[str, str] = {}
    for col in raw.columns:
        canon = _canonical(str(col))
        if canon is not None:
            if canon in mapping.values():
                raise DataError(f"{path.name}: several columns map to attribute {canon!r}")
            mapping[col] = canon
    absent = [a for a in ATTRIBUTES if a not in mapping.values()]
    if absent:
        raise DataError(f"{path.name}: missing attribute column(s) {absent} "
                        f"(found columns {list(raw.columns)})")
    out = raw.rename(columns=mapping)
    if "text_sha256" not in out.columns:
        col = text_column or "text"
        if col not in raw.columns:
            raise DataError(f"{path.name}: no 'text_sha256' column and no text column {col!r}; "
                            f"pass text_column=")
        if raw[col].isna().any():
            i = int(raw[col].isna().to_numpy().nonzero()[0][0])
            raise DataError(f"{path.name} row {i + 1}: column {col!r} is empty")
        out["text_sha256"] = raw[col].astype(str).map(text_sha256)
    # identical repeats (a prompt shared by several responses) collapse; conflicting repeats
    # are reported by check_scores
    out = out.drop_duplicates(["text_sha256", *ATTRIBUTES])
    if "error" not in out.columns:
        out["error"] = None
    if "scored_at" not in out.columns:
        out["scored_at"] = scored_at or "unknown"
    elif scored_at:
        out["scored_at"] = scored_at
    out["scorer"] = scorer
    out = out[["text_sha256", *ATTRIBUTES, "error", "scored_at", "scorer"]].reset_index(drop=True)
    return check_scores(out, path.name)
