"""Attribute scoring: one :class:`~pybrms.papers.kyrychenko2025.scoring.base.Scorer` interface,
a Perspective API client, a persistent SQLite cache, an importer for already-scored files and
a resumable runner.
"""

from .base import API_NAMES, ATTRIBUTES, Scorer, ScoreResult

__all__ = ["API_NAMES", "ATTRIBUTES", "ScoreResult", "Scorer"]
