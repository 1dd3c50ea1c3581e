"""The plugin's registration: its commands, its grid builder, its files and its settings.

Registered in ``pyproject.toml`` under the entry-point group ``pybrms.plugins``; pybrms's
generic code finds it through :func:`pybrms.plugins.plugins` and never imports it by name.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ...errors import SpecError
from ...plugins import Plugin
from . import data_cli
from .download import ENV_BASE_URL
from .grid import grid_from_spec
from .prism import bundled_path
from .replicate import cli as replicate_cli
from .resources import DATA_FILES, comparisons_dir


def commands(subparsers: argparse._SubParsersAction) -> None:
    """``pybrms replicate``, ``pybrms prism download``, ``pybrms score``, ``pybrms simulate``."""
    replicate_cli.register(subparsers)
    data_cli.register(subparsers)


def grid_source(source: str, *, data: str | None = None, scores: str | None = None,
                model: str | None = None, engines: list[str] | None = None) -> Any:
    """``pybrms sensitivity --from SPEC``: the grid of one analysis spec, or None when
    ``source`` is not one of this paper's specs (a name such as ``analysis_1b`` or a path to
    a spec file).

    ``data`` is a folder with the PRISM files and ``scores.parquet``, or ``"demo"`` for the
    bundled simulated data.
    """
    path = Path(source)
    if not path.suffix:
        path = comparisons_dir() / f"{source}.toml"
    if path.suffix != ".toml" or not path.is_file():
        return None
    if data is None:
        raise SpecError("--from needs --data (a folder with the PRISM files and "
                        "scores.parquet; the bundled demo data: --data demo)")
    folder = str(bundled_path()) if data == "demo" else data
    return grid_from_spec(path, folder, scores=scores, model=model, engines=engines)


PLUGIN = Plugin(
    name="kyrychenko2025",
    title="Kyrychenko et al. (2025): human preferences for constructive interactions (PRISM)",
    commands=commands,
    grid_source=grid_source,
    data_files=DATA_FILES,
    settings={ENV_BASE_URL: "mirror of the PRISM files for `pybrms prism download` "
                            "(default: Hugging Face)"},
)
