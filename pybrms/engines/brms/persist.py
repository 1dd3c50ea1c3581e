"""Saving and loading a brmsfit: the ``.rds`` R writes and the provenance beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ... import bridge
from ...atomic import atomic_path, atomic_write_text
from .held import HeldFit


class PersistMethods(HeldFit):
    """``save()``."""

    def save(self, path: str | os.PathLike) -> Path:
        """Save the brmsfit as ``path`` (.rds) and provenance beside it as ``.json``, atomically."""
        path = Path(path)
        if path.suffix != ".rds":
            path = path.with_suffix(".rds")
        with atomic_path(path) as tmp:
            bridge.call("pybrms_save_rds", self._r, str(tmp))
        atomic_write_text(
            path.with_suffix(".json"), json.dumps(self.provenance, indent=1, default=str)
        )
        return path

