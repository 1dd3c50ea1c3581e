"""The engine registry: one module per fitting library, each satisfying :class:`Engine`.

Callers pick engines by what they can do (:func:`capabilities`, :func:`engines_where`), never
by comparing names; only this registry and the engines' own modules know which is which.
Importing an engine module starts no R and no heavy library.
"""

from __future__ import annotations

import importlib
from typing import cast

from ..errors import EngineError
from .base import (
    COMMON_OPTIONS,
    Capabilities,
    Engine,
    EngineOptions,
    draw_seed,
    preflight,
    prepare,
)

#: engine name -> module path (relative to this package)
ENGINES: dict[str, str] = {
    "brms": ".brms",
    "lme4": ".lme4",
    "statsmodels": ".statsmodels",
    "fast": ".fast",
}


def get_engine(name: str) -> Engine:
    """Return the engine registered under ``name``.

    Raises
    ------
    EngineError
        If no engine of that name exists (the message lists the available ones).
    """
    if name not in ENGINES:
        raise EngineError(f"unknown engine {name!r}; available engines: {', '.join(ENGINES)}")
    return cast(Engine, importlib.import_module(ENGINES[name], __name__))


def capabilities(name: str) -> Capabilities:
    """What the engine ``name`` can do."""
    return get_engine(name).capabilities


def engines_where(**wanted: bool) -> list[str]:
    """Registered engines whose capabilities have the given values, e.g. ``bayesian=True``."""
    fields = set(Capabilities.__dataclass_fields__)
    unknown = sorted(set(wanted) - fields)
    if unknown:
        raise EngineError(f"unknown capabilities {unknown}; known: {', '.join(sorted(fields))}")
    return [n for n in ENGINES
            if all(getattr(capabilities(n), k) == v for k, v in wanted.items())]


__all__ = [
    "COMMON_OPTIONS",
    "ENGINES",
    "Capabilities",
    "Engine",
    "EngineOptions",
    "capabilities",
    "draw_seed",
    "engines_where",
    "get_engine",
    "preflight",
    "prepare",
]
