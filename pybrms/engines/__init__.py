"""Engines: one module per fitting library, dispatched by name (as brms dispatches backends).

Each engine module exposes ``NAME`` and ``fit(formula, data, family="gaussian", **options)``
returning an object with ``.tidy(conf_level=0.95) -> DataFrame`` in :mod:`pybrms.results`'s
schema and a ``.provenance`` dict. ``check(formula, family)`` raises
:class:`~pybrms.errors.EngineError` naming the part of a formula the engine cannot express.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import EngineError

#: engine name -> module path (relative to this package)
ENGINES: dict[str, str] = {
    "brms": ".brms",
    "lme4": ".lme4",
    "statsmodels": ".statsmodels",
}


def get_engine(name: str) -> ModuleType:
    """Return the engine module registered under ``name``.

    Raises
    ------
    EngineError
        If no engine of that name exists.
    """
    if name not in ENGINES:
        raise EngineError(f"unknown engine {name!r}; available engines: {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name], __name__)
