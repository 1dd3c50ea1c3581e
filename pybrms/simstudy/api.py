"""``pybrms.simstudy(...)``: a simulation study from a file, a mapping or keyword arguments."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .plan import plan_study
from .runner import StudyRun, run_study
from .spec import Study, build_study, load_study, parse_study, study_limits


def simstudy(
    study: str | os.PathLike | Mapping[str, Any] | Study | None = None,
    *,
    generate: str | Callable[..., Any] | None = None,
    model: Mapping[str, Any] | None = None,
    formula: str | None = None,
    family: str | None = None,
    conditions: Mapping[str, Sequence[Any]] | None = None,
    exclude: Sequence[Mapping[str, Any]] = (),
    methods: Mapping[str, Any] | None = None,
    focus: Sequence[str] | str | None = None,
    reps: int | None = None,
    seed: int = 1,
    sbc: Mapping[str, Any] | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
    name: str = "study",
    out: str | os.PathLike = "simstudy",
    workers: int | None = None,
    scheduler: str | None = None,
    quick: bool = False,
    dry_run: bool = False,
    targets: Sequence[str] = (),
    pilot: int = 0,
    keep_going: bool = False,
    quiet: bool = False,
    save_fits: bool = False,
    root: str | os.PathLike = ".",
    task_timeout: float | None = None,
    retries: int | None = None,
    memory_limit: str | int | None = None,
    isolate: bool = True,
) -> StudyRun | dict[str, Any]:
    """Run a simulation study: data-generating mechanisms x conditions x methods, replicated.

    Parameters
    ----------
    study : path, mapping or Study, optional
        A study file (TOML), the same as a parsed mapping, or a :class:`Study`; omit it to
        give the pieces as keyword arguments.
    generate : str or callable, optional
        ``"module:function"`` or a callable ``generate(rng, **condition) -> (DataFrame,
        {term: truth})``; ``rng`` is a numpy Generator seeded for the replicate.
    model : mapping, optional
        A declarative model instead (:mod:`pybrms.simstudy.declarative`).
    formula, family : str
        The analysis model every method fits (a method may name its own).
    conditions : mapping of str to list
        Crossed condition axes; their values reach ``generate`` by name.
    exclude : sequence of mapping
        Combinations of condition values left out.
    methods : mapping
        Method name -> ``{"engine": ..., "prior": [...], "chains": ..., ...}``.
    focus : sequence of str
        The estimands (tidy term names).
    reps : int
        Replicates per condition (with a study file: overrides the file's).
    seed : int
        The study's seed (one independent stream per condition and replicate).
    sbc : mapping, optional
        Simulation-based calibration: ``{"prior": [...], "thin": 10}`` (with ``model``).
    level, alpha : float
        Interval level and test size of the measures.
    name : str
        The study's name.
    out : path
        Output folder.
    workers, scheduler
        A local Dask cluster of N workers, or a running scheduler's address.
    quick : bool
        Short chains.
    dry_run : bool
        Check everything and return the plan (fits, programs, replicates needed) instead.
    targets : sequence of str
        With ``dry_run``: ``MEASURE=MCSE`` targets.
    pilot : int
        With ``dry_run``: replicates of a timing pilot.
    keep_going : bool
        Record a failed fit and go on.
    quiet : bool
        No progress lines.
    save_fits : bool
        Keep brms's ``.rds`` of every fit.
    root : path
        Folder for relative paths when ``study`` is a mapping.
    task_timeout : float, optional
        Seconds one attempt of a fit may take (default: the study file's ``task_timeout``,
        else derived from the pace of the finished fits: :mod:`pybrms.runs.limits`).
    retries : int, optional
        Attempts after the first for a fit that timed out, crashed or ran out of memory.
    memory_limit : str or int, optional
        Memory one fit's R process may use (``"8GiB"``).
    isolate : bool
        Run every fit in a supervised R process; False runs them here, with no limit.

    Returns
    -------
    StudyRun
        ``.estimates``, ``.performance``, ``.convergence``, ``.sbc``, ``.outputs``...; a plan
        dict with ``dry_run``.
    """
    if isinstance(study, Study):
        s = study
    elif isinstance(study, Mapping):
        s = parse_study(study, root=root, source="(mapping)")
    elif study is not None:
        s = load_study(study)
    else:
        s = build_study(methods=methods or {}, focus=focus, reps=reps or 100, seed=seed,
                        formula=formula, family=family, generate=generate, model=model,
                        conditions=conditions, exclude=exclude, sbc=sbc, level=level,
                        alpha=alpha, name=name, root=root)
    if dry_run:
        return plan_study(s, reps=reps, quick=quick, targets=targets, pilot=pilot, out=out,
                          workers=workers, quiet=quiet)
    limits = study_limits(s, task_timeout=task_timeout, retries=retries,
                          memory_limit=memory_limit, isolate=isolate)
    return run_study(s, out, workers=workers, scheduler=scheduler, reps=reps, quick=quick,
                     keep_going=keep_going, quiet=quiet, save_fits=save_fits, limits=limits)
