"""Sensitivity comparisons: multiverse grids fitted with brms and lme4 side by side, on Dask.

``pybrms.sensitivity("grid.toml", out="OUT", workers=2)`` (or ``pybrms sensitivity``) fits every
cell of a grid (:mod:`.grid`) with every engine it names, checkpointing each fit in
``OUT/cells/``, and writes ``cells.csv``, the specification curve and the summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .grid import Cell, Grid, load_grid, parse_grid
from .runner import check_grid, grid_limits, run_grid

__all__ = ["Cell", "Grid", "load_grid", "parse_grid", "sensitivity"]


def sensitivity(
    grid: str | os.PathLike | Mapping[str, Any] | Grid,
    out: str | os.PathLike = "sensitivity",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    quick: bool = False,
    design: str = "full",
    dry_run: bool = False,
    keep_going: bool = False,
    quiet: bool = False,
    power_scaling: bool = True,
    pilot: bool = True,
    root: str | os.PathLike = ".",
    task_timeout: float | None = None,
    retries: int | None = None,
    memory_limit: str | int | None = None,
    isolate: bool = True,
) -> Any:
    """Fit a sensitivity grid with brms and lme4 side by side.

    Parameters
    ----------
    grid : path, mapping or Grid
        A grid file (TOML), the same as a parsed mapping (relative ``data`` paths are read
        from ``root``), or a :class:`Grid` (e.g. from
        a paper plugin's grid builder).
    out : path
        Output folder (``cells/`` checkpoints, ``cells.csv``, ``specification_curve.png``/
        ``.pdf``, ``summary.md``/``.html``/``.tex``, ``run.json``).
    workers : int, optional
        A local Dask cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running Dask scheduler (workers started with ``--nthreads 1``).
    quick : bool
        Short chains (2 x 250 draws after 250 warm-up).
    design : {"full", "one_at_a_time"}
        All combinations, or the base cell and each option alone.
    dry_run : bool
        Check every cell (Python's checks, then each engine's without fitting: brms's build
        step and Stan's parser once per model structure, focus terms) and return the tasks
        without fitting; every problem is raised at once.
    keep_going : bool
        Report failed fits and go on.
    quiet : bool
        No progress lines.
    power_scaling : bool
        Prior/likelihood power-scaling sensitivity of each brms fit.
    pilot : bool
        Before an inexact engine's (``fast``) cells run, check it against brms on a reduced
        run of each model structure (:mod:`pybrms.sensitivity.pilot`); cells of a structure
        whose pilot disagrees are not run.
    root : path
        Folder for relative data paths when ``grid`` is a mapping.
    task_timeout : float, optional
        Seconds one attempt of a fit may take (default: the grid file's ``task_timeout``, else
        derived from the pace of the finished fits: :mod:`pybrms.runs.limits`).
    retries : int, optional
        Attempts after the first for a fit that timed out, crashed or ran out of memory
        (default: the grid file's, else 1).
    memory_limit : str or int, optional
        Memory one fit's R process may use (``"8GiB"``; default: the grid file's, else a share
        of the machine).
    isolate : bool
        Run every fit in a supervised R process (the limits need it); False runs them in this
        process with no limit, for a debugger.

    Returns
    -------
    GridRun, or list of CellTask with ``dry_run`` (one per cell and engine; a task whose
    fit another makes names it in ``shared_with``).

    Raises
    ------
    SpecError, DataError, EngineError
        Every problem of the grid at once (several: :class:`~pybrms.checks.InputProblems`),
        before anything starts.
    """
    if isinstance(grid, Grid):
        g = grid
    elif isinstance(grid, Mapping):
        g = parse_grid(grid, root=root, source="(mapping)")
    else:
        g = load_grid(grid)
    if dry_run:
        return check_grid(g, g.cells(design=design), Path(out), quick=quick).tasks
    limits = grid_limits(g, task_timeout=task_timeout, retries=retries,
                         memory_limit=memory_limit, isolate=isolate)
    return run_grid(g, out, workers=workers, scheduler=scheduler, quick=quick, design=design,
                    keep_going=keep_going, quiet=quiet, power_scaling=power_scaling,
                    pilot=pilot, limits=limits)
