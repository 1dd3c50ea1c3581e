"""The :class:`Scorer` interface every attribute scorer implements."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field

import pandas as pd

from ....errors import DataError

#: The eight Perspective attributes, by their short names (every scores table uses these).
ATTRIBUTES: tuple[str, ...] = (
    "AFFINITY",
    "COMPASSION",
    "CURIOSITY",
    "NUANCE",
    "PERSONAL_STORY",
    "REASONING",
    "RESPECT",
    "TOXICITY",
)

#: Perspective API request names of :data:`ATTRIBUTES` (the bridging ones are experimental).
API_NAMES: dict[str, str] = {a: (a if a == "TOXICITY" else f"{a}_EXPERIMENTAL") for a in ATTRIBUTES}

#: Column order of a scores table: one row per distinct text.
SCORE_COLUMNS: tuple[str, ...] = ("text_sha256", *ATTRIBUTES, "error", "scored_at", "scorer")


def text_sha256(text: str) -> str:
    """Return the hex SHA-256 of ``text`` encoded as UTF-8 (the key of every scores table)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one text.

    Attributes
    ----------
    scores : dict of str to float, or None
        Probability per attribute (short names) when scoring succeeded.
    error : str or None
        A permanent, per-text error type (e.g. ``"COMMENT_TOO_LONG"``) when the scorer refused the
        text; such texts are recorded, never retried.
    detail : str
        Human-readable detail of ``error`` (never contains credentials).
    """

    scores: dict[str, float] | None = None
    error: str | None = None
    detail: str = field(default="")

    @property
    def ok(self) -> bool:
        """True when the text was scored."""
        return self.error is None and self.scores is not None


class Scorer(abc.ABC):
    """Scores texts on a fixed set of attributes.

    Subclasses set :attr:`name` (recorded with every cached score) and :attr:`attributes`, and
    implement :meth:`score`. A transient failure that outlasts the scorer's retries raises
    :class:`~pybrms.errors.PybrmsError`; a permanent per-text refusal is returned as
    ``ScoreResult(error=...)``.
    """

    #: recorded beside each score (scores from different scorers are not interchangeable)
    name: str = "scorer"
    #: short attribute names this scorer returns
    attributes: tuple[str, ...] = ATTRIBUTES

    @abc.abstractmethod
    def score(self, text: str) -> ScoreResult:
        """Score one text.

        Parameters
        ----------
        text : str
            The text to score.

        Returns
        -------
        ScoreResult
            Scores for :attr:`attributes`, or the permanent error for this text.
        """

    @property
    def attribute_set(self) -> str:
        """Canonical key of the attribute set (sorted, comma-joined) used by the cache."""
        return ",".join(sorted(self.attributes))


def check_scores(df: pd.DataFrame, source: str = "scores") -> pd.DataFrame:
    """Check a scores table: ``text_sha256``, the eight attributes in [0, 1], optional ``error``.

    Parameters
    ----------
    df : DataFrame
        The scores table. Rows with a non-null ``error`` (a refused text) may lack scores.
    source : str
        Name used in error messages (usually the file name).

    Returns
    -------
    DataFrame
        A copy with numeric attribute columns and an ``error`` column.

    Raises
    ------
    DataError
        Naming the source, row and column of the first problem.
    """
    needed = ["text_sha256", *ATTRIBUTES]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}")
    df = df.copy()
    if "error" not in df.columns:
        df["error"] = None
    ok = df["error"].isna()
    for a in ATTRIBUTES:
        vals = pd.to_numeric(df[a], errors="coerce")
        bad = ok & (vals.isna() | (vals < 0) | (vals > 1))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(f"{source} row {i + 1}: column {a!r} must be a probability in "
                            f"[0, 1], got {df[a].iloc[i]!r} ({int(bad.sum())} such rows)")
        df[a] = vals
    dup = df["text_sha256"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise DataError(f"{source} row {i + 1}: column 'text_sha256' is duplicated")
    return df
