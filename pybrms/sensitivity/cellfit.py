"""One task of a sensitivity run: fit one cell with one engine, checkpoint it, return its record.

:func:`run_task` is what Dask ships to a worker (a module-level function, so any worker that
can import pybrms can run it). It writes the task's checkpoint itself, atomically, the moment
the fit is done, so a result is on disk even if the client or the worker dies right after; the
client writes it again if it is missing (an output folder not shared with the workers).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..replicate.checkpoint import CheckpointStore, _clean


@dataclass(frozen=True)
class TaskUnit:
    """What :class:`~pybrms.replicate.checkpoint.CheckpointStore` needs of a task."""

    name: str
    engine: str


@dataclass
class Task:
    """Everything a worker needs to fit one cell with one engine (picklable).

    Attributes
    ----------
    cell, engine : str
        Cell id and engine name.
    formula, family : str
        The cell's model.
    priors : list of Prior
        The cell's priors (constants as data names when ``stanvars`` is set).
    stanvars : dict
        Data names -> numbers for brms ``stanvar()``.
    options : dict
        Engine options (``chains``, ``iter``, ``warmup``, ``seed``...).
    data : DataFrame
        The cell's data (transforms applied).
    key : str
        The checkpoint key (changes whenever anything that changes the numbers changes).
    out : str
        The checkpoint folder (``OUT/cells``).
    conf_level : float
        Interval level of the tidy rows.
    power_scaling : bool
        Compute prior/likelihood power-scaling sensitivity (brms).
    """

    cell: str
    engine: str
    formula: str
    family: str
    priors: list
    stanvars: dict[str, float]
    options: dict[str, Any]
    data: pd.DataFrame
    key: str
    out: str
    conf_level: float = 0.95
    power_scaling: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> TaskUnit:
        """The checkpoint identity of this task."""
        return TaskUnit(f"{self.cell}__{self.engine}", self.engine)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def _brms_diagnostics(fit: Any) -> dict[str, Any]:
    d = fit.diagnostics()
    s = fit.summary()
    s = s[s["variable"] != "lp__"]
    return {
        "divergences": int(d["divergences"]), "treedepth_hits": int(d["treedepth_hits"]),
        "rhat_max": float(d["rhat_max"]),
        "ess_bulk_min": float(np.nanmin(s["ess_bulk"])),
        "ess_tail_min": float(np.nanmin(s["ess_tail"])),
        "n_high_rhat": len(d["high_rhat"]), "n_low_ess": len(d["low_ess"]),
    }


def fit_task(task: Task) -> dict[str, Any]:
    """Fit the task and return its record (nothing written)."""
    from ..engines import get_engine
    from ..spec.model import FitSpec

    engine = get_engine(task.engine)
    caps = engine.capabilities
    t0 = time.perf_counter()
    spec = FitSpec.build(task.formula, task.data, task.family,
                         task.priors if caps.uses_priors else None)
    wanted = dict(task.options)
    if task.stanvars and caps.compiles:
        wanted["stanvars"] = dict(task.stanvars)
    opts = engine.options.build({k: v for k, v in wanted.items() if k in engine.options.names()})
    record: dict[str, Any] = {"cell": task.cell, "engine": task.engine,
                              "n_rows": int(len(task.data))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = engine.fit(spec, opts)
        record["tidy"] = _records(fit.tidy(conf_level=task.conf_level))
        if caps.draws:
            record["diagnostics"] = _brms_diagnostics(fit)
            if task.power_scaling and caps.loo:  # needs brms's lprior and log_lik draws
                from .powerscale import brms_power_scaling

                record["power_scaling"] = brms_power_scaling(fit)
        if caps.compiles:
            record["stan_program"] = fit.provenance["details"]["stan_program"]
            record["compiled"] = bool(fit.provenance["details"]["compiled"])
        record["converged"] = bool(fit.converged)
        if caps.draws:  # the sampler's own criteria: Rhat <= 1.01 and no divergence
            d = record["diagnostics"]
            record["converged"] = record["converged"] and d["rhat_max"] <= 1.01 \
                and d["divergences"] == 0
        record["singular"] = bool(fit.singular)
    own = [str(w) for w in fit.warnings]
    other = [f"{w.category.__name__}: {w.message}" for w in caught
             if not any(o in str(w.message) for o in own)]
    record["warnings"] = list(dict.fromkeys(own + other))
    # provenance may hold R objects (e.g. the stanvars expression): their text is kept
    record["provenance"] = json.loads(json.dumps(_clean(fit.provenance), default=str))
    record["seconds"] = round(time.perf_counter() - t0, 3)
    record["fit"] = fit
    return record


_R_THREAD: Any = None


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def run_task(task: Task) -> dict[str, Any]:
    """Fit, save the brmsfit (brms), write the checkpoint; return the record.

    A record already on disk with the task's key is returned as is (a retried task whose
    first attempt finished before its worker died). On a Dask worker every task of the
    process runs on one long-lived thread: embedded R and rpy2's conversion rules (a context
    variable, which Dask does not carry from one task's thread context to the next) stay
    with the thread that started R.
    """
    return on_r_thread(_run_task, task)


def on_r_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` here, or, on a Dask worker, on the process's one R thread."""
    global _R_THREAD
    if _in_dask_worker():
        from concurrent.futures import ThreadPoolExecutor

        if _R_THREAD is None:
            _R_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pybrms-R")
        return _R_THREAD.submit(func, *args, **kwargs).result()
    return func(*args, **kwargs)


def _run_task(task: Task) -> dict[str, Any]:
    import os
    import socket

    store = CheckpointStore(task.out)
    unit = task.unit
    done = store.load(unit, task.key)
    if done is not None:
        return done
    record = fit_task(task)
    fit = record.pop("fit")
    if fit is not None and getattr(fit, "save", None) and record.get("stan_program"):
        fit.save(store.fit_path(unit))
    record.update(key=task.key, unit=unit.name, worker=f"{socket.gethostname()}:{os.getpid()}",
                  finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if Path(task.out).exists():
        store.save(unit, record)
    return record


def compile_program(task: Task) -> dict[str, Any]:
    """Build a brms task's Stan program and compile it into the cache (or find it there).

    What a run does once per model structure before that structure's cells fan out, so no
    two workers compile one program and no cell waits for another cell's sampling.
    """
    return on_r_thread(_compile_program, task)


def _compile_program(task: Task) -> dict[str, Any]:
    from ..cache import get_cache
    from ..engines import brms as brms_engine
    from ..engines import brms_build

    t0 = time.perf_counter()
    extra = {"stanvars": dict(task.stanvars)} if task.stanvars else {}
    code = brms_build.stancode(task.formula, task.data, task.family, list(task.priors), **extra)
    _model, key, compiled = brms_engine.compiled_model(code, get_cache(), quiet=True)
    return {"key": key, "compiled": bool(compiled), "seconds": round(time.perf_counter() - t0, 3)}
