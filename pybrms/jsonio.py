"""Strict JSON for records: non-finite floats as strings, numpy scalars as Python, atomic writes.

Checkpoints, run summaries and reports are JSON files other tools read; ``json`` would write
``Infinity``/``NaN`` (not JSON) for brms's infinite evidence ratios and missing values, so they
are written as the strings ``"inf"``, ``"-inf"``, ``"nan"`` and read back as floats.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from .atomic import atomic_write_text


def clean(obj: Any) -> Any:
    """``obj`` made strict-JSON: non-finite floats become ``"inf"``/``"-inf"``/``"nan"``,
    numpy scalars Python numbers, tuples lists, keys strings.
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return clean(obj.item())
    return obj


def restore(obj: Any) -> Any:
    """Inverse of :func:`clean` for the non-finite float strings."""
    if isinstance(obj, str) and obj in ("inf", "-inf", "nan"):
        return float(obj)
    if isinstance(obj, dict):
        return {k: restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as strict JSON, atomically (objects JSON cannot hold are written as text)."""
    atomic_write_text(path, json.dumps(clean(obj), indent=1, allow_nan=False, default=str))


def read_json(path: str | os.PathLike) -> Any:
    """Read a file :func:`write_json` wrote (non-finite floats restored)."""
    with open(path, encoding="utf-8") as fh:
        return restore(json.load(fh))
