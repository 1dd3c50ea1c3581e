"""Write a simulated dataset: the four PRISM files, ``scores.parquet`` and ``truth.json``.

Every file is written atomically; gzip streams carry no timestamp, so equal tables give equal
bytes.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pandas as pd

from ....atomic import atomic_path, atomic_write_bytes
from ....errors import SpecError
from .compute import SimulatedData

#: File formats of the four PRISM files (the scores file is always parquet).
FORMATS = ("jsonl", "jsonl.gz", "parquet")
#: The PRISM tables, in the order they are written.
PRISM_TABLES = ("survey", "conversations", "utterances", "metadata")


def check_format(fmt: str) -> None:
    """Raise :class:`~pybrms.errors.SpecError` unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise SpecError(f"fmt must be 'jsonl', 'jsonl.gz' or 'parquet', got {fmt!r}")


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` atomically as JSONL, gzipped JSONL or parquet, chosen by the suffix."""
    name = path.name
    if name.endswith(".parquet"):
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
        return
    text = df.to_json(orient="records", lines=True, force_ascii=False)
    data = text.encode("utf-8")
    if name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    atomic_write_bytes(path, data)


def write_simulation(data: SimulatedData, out: str | os.PathLike,
                     fmt: str = "jsonl") -> dict[str, Path]:
    """Write ``data`` under ``out`` (created if needed).

    Parameters
    ----------
    data : SimulatedData
        From :func:`~.compute.simulate_data`.
    out : path
        Output folder.
    fmt : {"jsonl", "jsonl.gz", "parquet"}
        Format of the four PRISM files.

    Returns
    -------
    dict of str to Path
        ``survey``, ``conversations``, ``utterances``, ``metadata``, ``scores``, ``truth``.
    """
    check_format(fmt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / f"{name}.{fmt}" for name in PRISM_TABLES}
    for name in PRISM_TABLES:
        write_table(getattr(data, name), files[name])
    files["scores"] = out / "scores.parquet"
    write_table(data.scores, files["scores"])
    files["truth"] = out / "truth.json"
    atomic_write_bytes(files["truth"], json.dumps(data.truth, indent=2, sort_keys=True).encode())
    return files
