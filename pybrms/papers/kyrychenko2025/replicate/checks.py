"""Check a replication before its first fit: data paths, frames, every unit, its hypotheses.

``pybrms replicate --dry-run`` runs :func:`check_plan`, and a run (:func:`.runner.run`) runs
the same checks on the units it still has to fit before fitting any; every problem is raised
at once (:func:`pybrms.checks.raise_problems`):

1. the data folder exists and holds the four PRISM files (each ``.jsonl``, ``.jsonl.gz`` or
   ``.parquet``) and the scores table exists (all missing paths named together);
2. the analysis frames build;
3. each unit's model and options, as its engine will fit them, once per model structure
   (:func:`pybrms.checks.check_models`: for brms its build step and Stan's parser, no
   compile);
4. every parameter a unit's hypotheses name is a population-level coefficient of the unit's
   model (brms: as its build step names them; lme4/statsmodels: the formula's coefficients on
   the unit's data), since brms's ``hypothesis()`` would otherwise fail only after the fit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ....checks import Checked, Collector, ModelCheck, Problem, check_models, raise_problems
from ....engines import get_engine
from ....spec.hypotheses import parse_hypothesis
from ..frames import AnalysisFrames, build_frames
from ..prism import FILES, find_file
from . import fitting
from .fitting import unit_data
from .plan import Plan, Unit


@dataclass
class PlanCheck:
    """A checked replication.

    Attributes
    ----------
    frames : AnalysisFrames
        The analysis frames (built once, for the run to use).
    checked : Checked
        What the engines' checks found and the structures they checked.
    units : int
        Units checked.
    """

    frames: AnalysisFrames
    checked: Checked
    units: int


def path_problems(data: str | os.PathLike, scores: str | os.PathLike | None = None
                  ) -> list[Problem]:
    """Every missing input path: the data folder, each PRISM file in it, the scores table."""
    found = Collector()
    folder = Path(data)
    if not folder.exists():
        found.add(f"data folder {str(folder)!r} does not exist", "--data")
    elif not folder.is_dir():
        found.add(f"{str(folder)!r} is not a folder (the PRISM files' folder)", "--data")
    else:
        for name in FILES:
            with found.at("--data"):
                find_file(folder, name)
    if scores is not None:
        if not Path(scores).is_file():
            found.add(f"scores table {str(scores)!r} does not exist", "--scores")
    elif folder.is_dir() and not (folder / "scores.parquet").is_file():
        found.add(f"no scores table {str(folder / 'scores.parquet')!r} (give --scores, or "
                  "score the data first)", "--data")
    return found.problems


def unit_problems(units: Sequence[Unit], frames: AnalysisFrames
                  ) -> tuple[list[Problem], Checked]:
    """Every unit as its engine will fit it (each model structure once) and its hypotheses'
    parameters against the unit's coefficients.
    """
    found = Collector()
    models: list[ModelCheck] = []
    checked_units: list[Unit] = []
    for u in units:
        where = f"unit {u.name}"
        with found.at(where, u.engine):
            request = fitting.request(u, unit_data(frames, u), quiet=True)
            names = get_engine(u.engine).options.names()
            options = {k: v for k, v in request.options.items() if k in names}
            models.append(ModelCheck(where, u.engine, request.spec(), options))
            checked_units.append(u)
    checked = check_models(models)
    for u, model, terms in zip(checked_units, models, checked.terms, strict=True):
        if terms is None:
            continue
        for text in u.hypotheses:
            with found.at(model.where, u.engine):
                missing = [t for t in parse_hypothesis(text).terms if t not in terms]
                if missing:
                    found.add(f"hypothesis {text!r} names {', '.join(map(repr, missing))}, "
                              f"not a population-level coefficient of the model; its "
                              f"coefficients: {', '.join(terms)}", model.where, u.engine)
    return found.problems + checked.problems, checked


def check_plan(plan: Plan, data: str | os.PathLike, scores: str | os.PathLike | None = None,
               units: Sequence[Unit] | None = None) -> PlanCheck:
    """Check the replication's inputs and units without fitting; raise every problem at once.

    Parameters
    ----------
    plan : Plan
        The plan.
    data : path
        Folder with the PRISM files.
    scores : path, optional
        The scores table (default ``DATA/scores.parquet``).
    units : sequence of Unit, optional
        The units to check (default all; a run passes those it still has to fit).

    Returns
    -------
    PlanCheck

    Raises
    ------
    SpecError, DataError, EngineError
        One problem as its own type; several as one
        :class:`~pybrms.checks.InputProblems` listing them all.
    """
    what = "the replication's input"
    raise_problems(path_problems(data, scores), what)
    scores_path = Path(scores) if scores is not None else Path(data) / "scores.parquet"
    found = Collector()
    frames = None
    with found.at("data"):
        frames = build_frames(Path(data), scores_path, **plan.frame_options)
    if frames is None:
        raise_problems(found.problems, what)
    todo = list(plan.units if units is None else units)
    problems, checked = unit_problems(todo, frames)
    raise_problems(problems, what)
    return PlanCheck(frames=frames, checked=checked, units=len(todo))
