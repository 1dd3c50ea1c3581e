"""Checkpoints of ``pybrms replicate``: one record per finished fit, written atomically.

A unit's record is ``OUT/fits/<model>__<engine>.json`` (results, diagnostics, provenance, the
unit's key); a brms unit also keeps its brmsfit as ``<model>__brms.fit.rds`` (provenance beside it in
``.fit.json``), written before the record. The JSON is written
last and atomically, so it exists only when everything it describes is on disk: a run killed at
any moment leaves either a complete record or none, and the next run redoes only the units
without a record whose key matches.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..engines import capabilities
from .plan import Unit


def _clean(obj: Any) -> Any:
    """Make ``obj`` strict-JSON: non-finite floats become the strings ``"inf"``/``"-inf"``/``"nan"``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return _clean(obj.item())
    return obj


def _restore(obj: Any) -> Any:
    """Inverse of :func:`_clean` for the non-finite float strings."""
    if isinstance(obj, str) and obj in ("inf", "-inf", "nan"):
        return float(obj)
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


class CheckpointStore:
    """The folder of finished-fit records of one ``pybrms replicate`` output folder.

    Parameters
    ----------
    directory : path
        Usually ``OUT/fits``; created if needed.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def record_path(self, unit: Unit) -> Path:
        """Where the unit's JSON record lives."""
        return self.directory / f"{unit.name}.json"

    def fit_path(self, unit: Unit) -> Path:
        """Where a brms unit's brmsfit lives (``.fit.rds``; its provenance goes to ``.fit.json``)."""
        return self.directory / f"{unit.name}.fit.rds"

    def load(self, unit: Unit, key: str) -> dict[str, Any] | None:
        """Return the unit's record if it exists and was made with ``key``; else None.

        An unreadable record (which atomic writes should make impossible) counts as missing.
        """
        path = self.record_path(unit)
        try:
            record = _restore(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
        if record.get("key") != key:
            return None
        if capabilities(unit.engine).saves_native and not self.fit_path(unit).exists():
            return None
        return record

    def stale(self, unit: Unit, key: str) -> bool:
        """True when a record exists but was made with other settings or data."""
        return self.record_path(unit).exists() and self.load(unit, key) is None

    def save(self, unit: Unit, record: dict[str, Any]) -> Path:
        """Write the unit's record atomically (the last step of a finished unit)."""
        path = self.record_path(unit)
        atomic_write_text(path, json.dumps(_clean(record), indent=1, allow_nan=False))
        return path
