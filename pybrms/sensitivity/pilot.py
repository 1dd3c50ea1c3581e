"""The pilot check: an inexact engine's cells run only after it agrees with brms.

A grid may fit cells with an engine that samples brms's model another way (``fast``: the
capability ``exact`` is False). Before any such cell runs, the first cell of each model
structure (formula, family, prior forms) is fitted on a reduced run (:data:`PILOT`: 2 chains x
(500 warm-up + 500 draws), the cell's own seed) by that engine and by brms, and
:func:`pybrms.verify` compares the two posteriors parameter by parameter. A structure whose
pilot agrees fans out; one whose pilot disagrees has its inexact cells refused (the run stops,
or with ``keep_going`` records them as failed with the verdict). The pilot records are
checkpointed in ``OUT/pilot/`` (a resumed run does not refit them) and every one is in
``run.json`` and the summary, beside the list of cells each engine fitted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from .. import bridge
from ..engines import get_engine
from ..jsonio import read_json, write_json
from ..runs.host import Host, TaskFailure
from ..runs.limits import FIRST_TIMEOUT, Limits, machine_share
from ..runs.supervise import Supervision, attempts
from ..verify import verify
from .cellfit import CellTask, fit_cell_here

#: the reduced run of a pilot (each engine; the cell's seed)
PILOT = {"chains": 2, "iter": 1000, "warmup": 500}


@dataclasses.dataclass
class PilotPlan:
    """One pilot: the inexact engine's task and brms's twin, on one cell.

    Attributes
    ----------
    structure : str
        The model structure the pilot vouches for.
    candidate, reference : CellTask
        The inexact engine's reduced task and brms's.
    key : str
        Checkpoint key (both tasks' keys).
    path : str
        The pilot's record (``OUT/pilot/<structure>__<engine>.json``).
    """

    structure: str
    candidate: CellTask
    reference: CellTask
    key: str
    path: str


def pilot_key(structure: str, engine: str) -> str:
    """The name of a pilot among a run's pilots (:func:`run_pilots`' keys)."""
    return f"{structure}__{engine}"


def needs_pilot(engine: str) -> bool:
    """True for a Bayesian engine that is not exact (its draws are not brms's)."""
    caps = get_engine(engine).capabilities
    return caps.bayesian and not caps.exact


def plan_pilots(tasks: list[CellTask], out: Path, structure_of: Any) -> list[PilotPlan]:
    """One pilot per (model structure, inexact engine), on the structure's first cell.

    Parameters
    ----------
    tasks : list of CellTask
        The run's tasks; an inexact engine's tasks carry brms's form of their priors in
        ``extra["reference"]`` (priors, stanvars).
    out : Path
        The run's output folder.
    structure_of : callable
        Task -> structure key (the runner's grouping).
    """
    brms = get_engine("brms")
    plans: dict[tuple[str, str], PilotPlan] = {}
    for t in tasks:
        if not needs_pilot(t.engine):
            continue
        structure = structure_of(t)
        if (structure, t.engine) in plans:
            continue
        options = {**t.options, **PILOT}
        candidate = dataclasses.replace(t, options=options, power_scaling=False)
        ref = t.extra.get("reference") or {}
        ref_opts = {k: v for k, v in {**options, "cores": 1, "diagnose": False, "refresh": 0,
                                      "quiet": True}.items() if k in brms.options.names()}
        reference = dataclasses.replace(
            t, engine="brms", options=ref_opts, power_scaling=False,
            priors=list(ref.get("priors", t.priors)), stanvars=dict(ref.get("stanvars", {})))
        key = hashlib.sha256(json.dumps([t.key, sorted(options.items()), sorted(
            ref_opts.items()), [p.to_dict() for p in reference.priors], reference.stanvars],
            sort_keys=True, default=str).encode()).hexdigest()
        path = out / "pilot" / f"{structure[:16]}__{t.engine}.json"
        plans[(structure, t.engine)] = PilotPlan(structure, candidate, reference, key, str(path))
    return list(plans.values())


def load_pilot(plan: PilotPlan) -> dict[str, Any] | None:
    """The pilot's checkpoint, if it is there with the plan's key."""
    path = Path(plan.path)
    if not path.exists():
        return None
    rec = read_json(path)
    return rec if rec.get("key") == plan.key else None


def run_pilot(plan: PilotPlan, how: Supervision | None = None,
              host: Host | None = None) -> dict[str, Any]:
    """Fit both tasks, verify, write the checkpoint; return the record.

    With ``how`` the two fits run in an R host (``host``, else the process's: what Dask ships
    to a worker), with its time limit and retries; without, in this process.
    """
    done = load_pilot(plan)
    if done is not None:
        return done
    if how is None:
        record = bridge.on_r_thread(pilot_fits, plan)
    else:
        record = attempts(lambda h: h.call(pilot_fits, plan, timeout=how.timeout),
                          host if host is not None else how.host(), how.retries)
    write_json(plan.path, record)
    return record


def pilot_fits(plan: PilotPlan) -> dict[str, Any]:
    """The pilot's two fits and their comparison: its record (nothing written)."""
    t0 = time.perf_counter()
    cand, cand_fit = fit_cell_here(plan.candidate)
    ref, ref_fit = fit_cell_here(plan.reference)
    v = verify(cand_fit, ref_fit)
    table = v.table
    record = {
        "key": plan.key, "structure": plan.structure, "cell": plan.candidate.cell,
        "engine": plan.candidate.engine, "reference": "brms", "formula": plan.candidate.formula,
        "family": plan.candidate.family, "settings": PILOT, "ok": bool(v.ok),
        "verdict": v.verdict,
        "max_abs_z": float(table["z"].abs().max()) if len(table) else float("nan"),
        "parameters": int(len(table)),
        "table": json.loads(table.to_json(orient="records")),
        "seconds": {"candidate": cand["seconds"], "reference": ref["seconds"],
                    "total": round(time.perf_counter() - t0, 3)},
        "warnings": {"candidate": cand["warnings"], "reference": ref["warnings"]},
    }
    return record


def run_pilots(plans: list[PilotPlan], client: Any, note: Any,
               limits: Limits | None = None) -> dict[str, dict[str, Any]]:
    """Run (or resume) every pilot, on the Dask cluster when there is one, each in an R host
    with the run's limits (unless ``limits.isolate`` is False).

    A pilot that cannot finish (time limit, crashed R) counts as disagreeing, with the reason
    as its verdict.

    Returns
    -------
    dict
        ``"<structure>__<engine>"`` -> pilot record.
    """
    limits = limits if limits is not None else Limits()
    out: dict[str, dict[str, Any]] = {}
    todo = []
    for p in plans:
        rec = load_pilot(p)
        if rec is not None:
            out[pilot_key(p.structure, p.candidate.engine)] = rec
            note(f"pilot {p.candidate.engine} vs brms on cell {p.candidate.cell}: "
                 f"{rec['verdict']} (from checkpoint)")
        else:
            todo.append(p)
    if todo:
        note(f"{len(todo)} pilot check(s) against brms before the inexact engine's cells "
             f"({PILOT['chains']} chains x ({PILOT['warmup']} + "
             f"{PILOT['iter'] - PILOT['warmup']}) draws each)")
    how = None
    if limits.isolate:
        timeout = 2 * (limits.timeout if limits.timeout is not None else FIRST_TIMEOUT)
        logs = str(Path(todo[0].path).parent.parent / "logs") if todo else None
        how = Supervision(timeout, limits.retries, limits.memory, logs)
    results: list[Any] = []
    if client is None:
        host = (Host(how.log_dir, limits.memory or machine_share(1))
                if how is not None and todo else None)
        try:
            for p in todo:
                try:
                    results.append(run_pilot(p, how, host) if how is not None else run_pilot(p))
                except TaskFailure as exc:
                    results.append(exc)
        finally:
            if host is not None:
                host.close()
    else:
        futs = [client.submit(run_pilot, p, how, key=f"pybrms-pilot-{p.key[:16]}", pure=False)
                for p in todo]
        for fut in futs:
            try:
                results.append(fut.result())
            except TaskFailure as exc:
                results.append(exc)
    for p, rec in zip(todo, results, strict=True):
        if isinstance(rec, TaskFailure):
            rec = {"key": p.key, "structure": p.structure, "cell": p.candidate.cell,
                   "engine": p.candidate.engine, "reference": "brms",
                   "formula": p.candidate.formula, "family": p.candidate.family,
                   "settings": PILOT, "ok": False, "verdict": f"pilot failed: {rec.reason}",
                   "max_abs_z": float("nan"), "parameters": 0, "table": [],
                   "seconds": {"total": 0.0}}
        elif not Path(p.path).exists():  # a worker whose folder is not ours
            write_json(p.path, rec)
        out[pilot_key(p.structure, p.candidate.engine)] = rec
        note(f"pilot {p.candidate.engine} vs brms on cell {p.candidate.cell}: {rec['verdict']} "
             f"({rec['seconds']['total']:.0f} s)")
    return out
