"""Files shipped inside the package: the R sources, Makevars, the paper's specs and tables.

Everything pybrms reads at run time lives under the ``pybrms`` package and is found with
:mod:`importlib.resources`, so a wheel installed anywhere (a venv, conda, a lab's shared
environment) works exactly like the source checkout. The checkout's top-level ``r/`` and
``comparisons/`` are symbolic links to these folders, for people reading the repository.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from importlib.resources import as_file, files
from pathlib import Path

# The one import-time action: an exit hook that removes any folder extracted from a zipped
# install (nothing is extracted, or started, until a resource is first asked for).
_stack = contextlib.ExitStack()
atexit.register(_stack.close)
_paths: dict[str, Path] = {}


def package_dir(name: str) -> Path:
    """Return a real directory holding the package resource folder ``name``.

    For an ordinary install this is the folder inside the installed package; for a package
    imported from a zip file the folder is extracted once, for the life of the process.

    Parameters
    ----------
    name : str
        A folder inside the package, ``/``-separated: ``"r"``, ``"comparisons"``,
        ``"examples"``, ``"data/bundled"``.

    Returns
    -------
    Path
    """
    if name not in _paths:
        folder = files("pybrms").joinpath(*name.split("/"))
        _paths[name] = Path(_stack.enter_context(as_file(folder)))
    return _paths[name]


def r_dir() -> Path:
    """The folder of the R sources the bridge loads (``$PYBRMS_R_DIR`` overrides it)."""
    override = os.environ.get("PYBRMS_R_DIR")
    return Path(override) if override else package_dir("r")


def comparisons_dir() -> Path:
    """The folder of the paper's analysis specs (``*.toml``)."""
    return package_dir("comparisons")


def published_dir() -> Path:
    """The folder of the paper's published Tables 2-4 (``table2.csv`` ...)."""
    return comparisons_dir() / "published"


def examples_dir() -> Path:
    """The folder of the small example datasets (``bern.csv``) used by ``pybrms demo``."""
    return package_dir("examples")


def bundled_dir() -> Path:
    """The folder of the bundled simulated PRISM dataset (``pybrms replicate --demo``)."""
    return package_dir("data/bundled")


def r_sources() -> tuple[str, ...]:
    """The files the bridge needs in :func:`r_dir`: the R files it sources, and ``Makevars``."""
    from .bridge import R_FILES  # here, not at the top: the bridge imports this module

    return (*R_FILES, "Makevars")


#: the data files an install must hold, folder -> files (checked by ``pybrms doctor``)
DATA_FILES: dict[str, tuple[str, ...]] = {
    "comparisons": (
        "analysis_1a.toml",
        "analysis_1b.toml",
        "analysis_2.toml",
        "analysis_3.toml",
        "interaction_toxicity.toml",
        "supplement.toml",
    ),
    "comparisons/published": ("table2.csv", "table3.csv", "table4.csv"),
    "data/bundled": (
        "survey.jsonl.gz",
        "conversations.jsonl.gz",
        "utterances.jsonl.gz",
        "metadata.jsonl.gz",
        "scores.parquet",
        "truth.json",
    ),
    "examples": ("bern.csv",),
}


def missing_files() -> dict[str, list[str]]:
    """Files pybrms reads at run time that this install lacks, by folder (empty if none).

    Returns
    -------
    dict of str to list of str
        ``{folder: [missing file names]}``; the R folder is keyed by its full path.
    """
    missing: dict[str, list[str]] = {}
    r = r_dir()
    lost = [n for n in r_sources() if not (r / n).is_file()]
    if lost:
        missing[str(r)] = lost
    for folder, names in DATA_FILES.items():
        try:
            where = package_dir(folder)
        except (FileNotFoundError, NotADirectoryError):
            missing[folder] = list(names)
            continue
        lost = [n for n in names if not (where / n).is_file()]
        if lost:
            missing[folder] = lost
    return missing
