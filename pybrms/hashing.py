"""SHA-256 digests of files and data frames: one definition for the cache, checkpoints and
provenance.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def data_hash(data: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values, column names and dtypes (index ignored)."""
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()
