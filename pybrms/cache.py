"""A persistent cache of compiled Stan programs, keyed by the exact Stan code and compiler setup.

A compiled model is reused only when the new model's Stan code is *identical* to the cached
one (checked character by character, as brms's ``update()`` does, not only by hash). brms
writes data-dependent default priors into the Stan code as constants, so two datasets with
default priors give two programs and two entries: stale priors are never reused. With
explicit priors on every class, the code does not depend on the data and one compile serves
every dataset.

Entries are written atomically (temporary file + ``os.replace``), so a crash never leaves a
half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write_text
from .config import config


def default_cache_dir() -> Path:
    """``$PYBRMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/pybrms/models``, else ``~/.cache/pybrms/models``
    (:func:`pybrms.config.config`).
    """
    return config().cache_dir


def program_key(stancode: str, toolchain: dict[str, str]) -> str:
    """Hash of the Stan code plus everything that changes the compiled binary."""
    h = hashlib.sha256()
    h.update(stancode.encode())
    for k in sorted(toolchain):
        h.update(f"\n{k}={toolchain[k]}".encode())
    return h.hexdigest()


@dataclass
class CacheStats:
    """Counts for this process: programs compiled, and cache hits."""

    compiles: int = 0
    hits: int = 0
    compiled_keys: list[str] = field(default_factory=list)


class ModelCache:
    """Compiled Stan programs on disk: ``<key>.rds`` (the rstan stanmodel) and ``<key>.json``.

    Parameters
    ----------
    directory : path, optional
        Where entries live; :func:`default_cache_dir` by default.

    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.stats = CacheStats()
        self._lock = threading.Lock()

    def model_path(self, key: str) -> Path:
        """Path of the compiled model for ``key``."""
        return self.directory / f"{key}.rds"

    def meta_path(self, key: str) -> Path:
        """Path of the JSON sidecar (Stan code, toolchain, compile time) for ``key``."""
        return self.directory / f"{key}.json"

    def lookup(self, key: str, stancode: str) -> Path | None:
        """Return the model path for ``key`` if present and its stored code equals ``stancode``."""
        rds, meta = self.model_path(key), self.meta_path(key)
        if not (rds.exists() and meta.exists()):
            return None
        try:
            stored = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if stored.get("stancode") != stancode:
            return None
        return rds

    def entries(self) -> list[dict]:
        """Metadata of every entry in the cache directory."""
        if not self.directory.exists():
            return []
        out = []
        for meta in sorted(self.directory.glob("*.json")):
            try:
                out.append(json.loads(meta.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
        return out

    def tmp_path(self) -> Path:
        """A fresh temporary path inside the cache directory (for atomic writes)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".rds")
        os.close(fd)
        return Path(name)

    def commit(
        self, key: str, tmp_model: Path, stancode: str, toolchain: dict, seconds: float
    ) -> Path:
        """Move a written model into place and write its sidecar, both atomically."""
        meta = {
            "key": key,
            "stancode": stancode,
            "toolchain": toolchain,
            "compile_seconds": round(seconds, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with self._lock:
            os.replace(tmp_model, self.model_path(key))
            atomic_write_text(self.meta_path(key), json.dumps(meta, indent=1))
            self.stats.compiles += 1
            self.stats.compiled_keys.append(key)
        return self.model_path(key)

    def record_hit(self) -> None:
        """Count one reuse of a cached program."""
        with self._lock:
            self.stats.hits += 1


_default: ModelCache | None = None


def get_cache() -> ModelCache:
    """The process-wide cache (re-created if ``PYBRMS_CACHE_DIR`` changed)."""
    global _default
    want = default_cache_dir()
    if _default is None or _default.directory != want:
        _default = ModelCache(want)
    return _default
