"""Checkpoints of a run: one record per finished task, written atomically.

A task's record is ``<folder>/<task>.json`` (results, diagnostics, provenance, the task's key);
a task whose engine saves its own object (brms) also keeps it as ``<task>.fit.rds`` (provenance
beside it in ``.fit.json``), written before the record. The JSON is written last and
atomically, so it exists only when everything it describes is on disk: a run killed at any
moment leaves either a complete record or none, and the next run redoes only the tasks without
a record whose key matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..jsonio import read_json, write_json


class CheckpointStore:
    """The folder of finished-task records of one run.

    Parameters
    ----------
    directory : path
        ``OUT/cells``, ``OUT/fits``...; created if needed.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def record_path(self, name: str) -> Path:
        """Where the task's JSON record lives."""
        return self.directory / f"{name}.json"

    def fit_path(self, name: str) -> Path:
        """Where a task's native fit lives (``.fit.rds``; its provenance goes to ``.fit.json``)."""
        return self.directory / f"{name}.fit.rds"

    def load(self, name: str, key: str, native: bool = False) -> dict[str, Any] | None:
        """The task's record if it exists and was made with ``key`` (and, with ``native``, its
        fit file is beside it); else None.

        An unreadable record (which atomic writes should make impossible) counts as missing.
        """
        try:
            record = read_json(self.record_path(name))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        if native and not self.fit_path(name).exists():
            return None
        return record

    def stale(self, name: str, key: str, native: bool = False) -> bool:
        """True when a record exists but was made with other settings or data."""
        return self.record_path(name).exists() and self.load(name, key, native) is None

    def save(self, name: str, record: dict[str, Any]) -> Path:
        """Write the task's record atomically (the last step of a finished task)."""
        path = self.record_path(name)
        write_json(path, record)
        return path
