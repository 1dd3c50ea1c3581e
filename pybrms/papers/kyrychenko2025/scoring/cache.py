"""Persistent SQLite cache of scores, one committed row per response.

Keyed by the SHA-256 of the text and the attribute set; each row records the scorer's name and
when it was scored (Perspective's models are unversioned and drift). No credentials are stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .base import ATTRIBUTES, ScoreResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    text_sha256 TEXT NOT NULL,
    attribute_set TEXT NOT NULL,
    scorer TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    error TEXT,
    detail TEXT,
    scores_json TEXT,
    PRIMARY KEY (text_sha256, attribute_set)
)
"""


class ScoreCache:
    """A SQLite file of scores; safe to reopen after a crash.

    Parameters
    ----------
    path : path
        The SQLite file (created if absent).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> ScoreCache:
        """Return self."""
        return self

    def __exit__(self, *exc) -> None:
        """Close the database."""
        self.close()

    def has(self, sha: str, attribute_set: str) -> bool:
        """True when ``sha`` has a stored result (score or permanent error) for the set."""
        row = self._db.execute("SELECT 1 FROM scores WHERE text_sha256=? AND attribute_set=?",
                               (sha, attribute_set)).fetchone()
        return row is not None

    def done(self, attribute_set: str) -> set[str]:
        """Hashes with a stored result for ``attribute_set``."""
        rows = self._db.execute("SELECT text_sha256 FROM scores WHERE attribute_set=?",
                                (attribute_set,))
        return {r[0] for r in rows}

    def put(self, sha: str, attribute_set: str, scorer: str, result: ScoreResult) -> None:
        """Store one result and commit it at once (a crash loses at most the one in flight)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sha, attribute_set, scorer, now, result.error, result.detail or None,
                 json.dumps(result.scores, sort_keys=True) if result.scores else None),
            )

    def to_frame(self, attribute_set: str | None = None) -> pd.DataFrame:
        """Return the cache as a scores table (``text_sha256``, attributes, ``error``, ...).

        Parameters
        ----------
        attribute_set : str, optional
            Restrict to one attribute set.
        """
        q = "SELECT text_sha256, attribute_set, scorer, scored_at, error, scores_json FROM scores"
        args: tuple = ()
        if attribute_set is not None:
            q += " WHERE attribute_set=?"
            args = (attribute_set,)
        rows = self._db.execute(q + " ORDER BY text_sha256", args).fetchall()
        recs = []
        for sha, _aset, scorer, at, err, js in rows:
            vals = json.loads(js) if js else {}
            recs.append({"text_sha256": sha, **{a: vals.get(a) for a in ATTRIBUTES},
                         "error": err, "scored_at": at, "scorer": scorer})
        cols = ["text_sha256", *ATTRIBUTES, "error", "scored_at", "scorer"]
        return pd.DataFrame.from_records(recs, columns=cols)

    def __len__(self) -> int:
        """Number of stored results."""
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
