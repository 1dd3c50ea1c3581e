"""Files shipped inside the package: the R sources, Makevars and the example data.

Everything pybrms reads at run time lives under the ``pybrms`` package and is found with
:mod:`importlib.resources`, so a wheel installed anywhere (a venv, conda, a lab's shared
environment) works exactly like the source checkout. The checkout's top-level ``r/`` is a
symbolic link to the R folder, for people reading the repository. Paper plugins keep their own
files in their own package folder (:func:`package_dir` serves them too).
"""

from __future__ import annotations

import atexit
import contextlib
from importlib.resources import as_file, files
from pathlib import Path

from .config import config

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
        A folder inside the package, ``/``-separated: ``"r"``, ``"examples"``,
        ``"papers/kyrychenko2025/comparisons"``.

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
    override = config().r_dir
    return override if override is not None else package_dir("r")


def examples_dir() -> Path:
    """The folder of the small example datasets (``bern.csv``) used by ``pybrms demo``."""
    return package_dir("examples")


#: R files the bridge sources at start-up, in order: one file per job (engines,
#: post-processing, data)
R_FILES = ("setup.R", "brms.R", "fit.R", "lme4.R", "post.R", "data.R", "fast.R")


def r_sources() -> tuple[str, ...]:
    """The files the bridge needs in :func:`r_dir`: the R files it sources, and ``Makevars``."""
    return (*R_FILES, "Makevars")


#: the data files an install must hold, folder -> files (checked by ``pybrms doctor``; plugins
#: add theirs, :attr:`pybrms.plugins.Plugin.data_files`)
DATA_FILES: dict[str, tuple[str, ...]] = {"examples": ("bern.csv",)}


def missing_files(data_files: dict[str, tuple[str, ...]] | None = None
                  ) -> dict[str, list[str]]:
    """Files pybrms reads at run time that this install lacks, by folder (empty if none).

    Parameters
    ----------
    data_files : dict, optional
        Package folder -> files to check besides the R sources (default :data:`DATA_FILES`).

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
    for folder, names in (DATA_FILES if data_files is None else data_files).items():
        try:
            where = package_dir(folder)
        except (FileNotFoundError, NotADirectoryError):
            missing[folder] = list(names)
            continue
        lost = [n for n in names if not (where / n).is_file()]
        if lost:
            missing[folder] = lost
    return missing
