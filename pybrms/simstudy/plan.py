"""``--dry-run``: what a study will cost before it runs.

The plan counts the fits (conditions x replicates x methods) and the Stan programs (distinct
model structures of the compiling methods: one per structure, or one per replicate when brms's
default priors depend on the data), and for each ``--target-mcse MEASURE=MCSE`` the replicates
needed (:func:`~pybrms.simstudy.planning.replicates_needed`): closed forms for coverage and
power; for the other measures, and for per-fit times, a short pilot (``--pilot N``: N
replicates of every condition and method, run as a study of its own in ``OUT/pilot``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from .planning import PROPORTIONS, parse_target, replicates_needed
from .runner import run_study
from .spec import Study
from .tasks import build_tasks


def plan_study(study: Study, *, reps: int | None = None, quick: bool = False,
               targets: Sequence[str] = (), pilot: int = 0,
               out: str | os.PathLike | None = None, workers: int | None = None,
               quiet: bool = True) -> dict[str, Any]:
    """Count the study's fits and programs; replicates needed for target MCSEs; pilot times.

    Parameters
    ----------
    study : Study
        The study.
    reps : int, optional
        Replicates per condition (default: the study's).
    quick : bool
        Short chains.
    targets : sequence of str
        ``MEASURE=MCSE`` targets (``coverage=0.005``).
    pilot : int
        Replicates per condition and method of a pilot run (0: none).
    out : path, optional
        The study's output folder (the pilot runs in ``OUT/pilot``).
    workers : int, optional
        Workers of the planned run (the time estimate divides by them).
    quiet : bool
        No progress lines from the pilot.

    Returns
    -------
    dict
        ``fits``, ``programs``, ``conditions``, ``methods``, ``reps``, ``notes``,
        ``targets`` (one row per target: measure, mcse, replicates, basis), and with a pilot
        ``pilot_seconds`` (mean seconds per fit per method) and ``estimated_seconds``.
    """
    tasks, notes = build_tasks(study, reps=reps, quick=quick)
    n_reps = study.reps if reps is None else reps
    plan: dict[str, Any] = {
        "fits": len(tasks), "programs": len({t.structure for t in tasks if t.structure}),
        "conditions": len(study.condition_list()), "methods": list(study.methods),
        "reps": n_reps, "notes": notes, "targets": [],
    }
    perf = None
    if pilot:
        if pilot < 2:
            raise SpecError("a pilot needs at least 2 replicates")
        where = Path(out if out is not None else study.name) / "pilot"
        res = run_study(study, where, reps=pilot, quick=quick, quiet=quiet, keep_going=True,
                        figures=False)
        perf = res.performance
        secs: dict[str, list[float]] = {}
        for rec in res.records.values():
            if not rec.get("compiled"):  # a fit that compiled is not a replicate's cost
                secs.setdefault(rec["method"], []).append(float(rec.get("seconds", 0.0)))
        plan["pilot_seconds"] = {m: float(np.mean(v)) for m, v in secs.items() if v}
        per_method = len(tasks) / max(len(study.methods), 1)
        total = sum(per_method * s for s in plan["pilot_seconds"].values())
        plan["estimated_seconds"] = total / max(workers or 1, 1)
    for text in targets:
        measure, mcse = parse_target(text)
        if measure in PROPORTIONS:  # closed form: a small pilot's proportion is too noisy
            n = replicates_needed(measure, mcse, level=study.level)
            basis = ("expected = nominal level" if measure != "power"
                     else "worst case p = 0.5")
        elif perf is not None and not perf.empty:
            rows = perf[(perf["measure"] == measure) & (perf["subset"] == "all")
                        & (perf["mcse"] > 0) & (perf["n"] >= 2)]
            if rows.empty:
                raise SpecError(f"the pilot gave no MCSE of {measure}")
            n = max(replicates_needed(measure, mcse, pilot_mcse=float(r.mcse),
                                      pilot_n=int(r.n)) for r in rows.itertuples())
            basis = f"pilot of {pilot} replicate(s), worst condition x method x estimand"
        else:
            raise SpecError(f"{measure} needs a pilot to plan: add --pilot N")
        plan["targets"].append({"measure": measure, "mcse": mcse, "replicates": int(n),
                                "basis": basis})
    return plan


def format_plan(plan: dict[str, Any]) -> list[str]:
    """The plan as the lines ``--dry-run`` prints."""
    lines = [f"{plan['conditions']} condition(s) x {plan['reps']} replicate(s) x "
             f"{len(plan['methods'])} method(s) = {plan['fits']} fit(s); "
             f"{plan['programs']} Stan program(s) to compile or load; checked, nothing fitted"]
    for t in plan["targets"]:
        lines.append(f"target MCSE {t['measure']} = {t['mcse']}: {t['replicates']} replicate(s) "
                     f"per condition ({t['basis']})")
    for m, s in (plan.get("pilot_seconds") or {}).items():
        lines.append(f"pilot: {m} {s:.2f} s per fit")
    if "estimated_seconds" in plan:
        lines.append(f"estimated fitting time: {plan['estimated_seconds'] / 60:.1f} min")
    lines += [f"note: {n}" for n in plan["notes"]]
    return lines
