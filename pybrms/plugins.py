"""Paper plugins: what a replication package adds to pybrms without the toolkit knowing it.

A plugin is a package (``pybrms/papers/<paper>/``, or any installed distribution) that builds on
the generic layers — specs, engines, results, compare, the run engine, grids — and registers a
:class:`Plugin` under the entry-point group ``pybrms.plugins``::

    [project.entry-points."pybrms.plugins"]
    kyrychenko2025 = "pybrms.papers.kyrychenko2025.plugin:PLUGIN"

The generic code finds plugins here, at run time, and never imports them by name: a second
paper is added the same way, touching nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from .config import SETTINGS
from .errors import SpecError

#: the entry-point group plugins register under
GROUP = "pybrms.plugins"


@dataclass(frozen=True)
class Plugin:
    """What a plugin adds.

    Attributes
    ----------
    name : str
        Short name (``kyrychenko2025``).
    title : str
        What it replicates, in words.
    commands : callable, optional
        ``commands(subparsers)`` adds the plugin's ``pybrms`` sub-commands.
    grid_source : callable, optional
        ``grid_source(source, *, data, scores, model, engines)`` for
        ``pybrms sensitivity --from SOURCE``: a :class:`~pybrms.sensitivity.grid.Grid`, or None
        when ``source`` is not the plugin's.
    data_files : mapping
        Package folder -> files an install must hold (``pybrms doctor`` checks them).
    settings : mapping
        ``PYBRMS_*`` environment variables the plugin reads -> what they do.
    """

    name: str
    title: str
    commands: Callable[[argparse._SubParsersAction], None] | None = None
    grid_source: Callable[..., Any] | None = None
    data_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)


_loaded: list[Plugin] | None = None


def plugins() -> list[Plugin]:
    """Every installed plugin, loaded once per process, by name.

    Raises
    ------
    SpecError
        If an entry point does not give a :class:`Plugin`.
    """
    global _loaded
    if _loaded is None:
        found = []
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            plugin = ep.load()
            if not isinstance(plugin, Plugin):
                raise SpecError(f"entry point {ep.name!r} of {GROUP} is not a pybrms Plugin")
            found.append(plugin)
        _loaded = found
    return list(_loaded)


def grid_from(source: str, **kwargs: Any) -> Any:
    """The grid a plugin builds from ``source`` (``pybrms sensitivity --from``).

    Raises
    ------
    SpecError
        When no installed plugin recognises ``source``.
    """
    for plugin in plugins():
        if plugin.grid_source is not None:
            grid = plugin.grid_source(source, **kwargs)
            if grid is not None:
                return grid
    names = ", ".join(p.name for p in plugins() if p.grid_source) or "none installed"
    raise SpecError(f"--from {source!r}: no plugin builds a grid from it (plugins with grids: "
                    f"{names})")


def settings() -> dict[str, str]:
    """Every ``PYBRMS_*`` variable pybrms and its plugins read -> what it does."""
    out = dict(SETTINGS)
    for p in plugins():
        out.update(p.settings)
    return out
