"""One task of a sensitivity run: fit one cell with one engine and keep its record.

A :class:`CellTask` is what the grid checks and the pilot gate reads; :func:`run_task` makes it
a task of the run engine (:mod:`pybrms.runs`), whose worker calls :func:`fit_cell` (a
module-level function, so any worker that can import pybrms can run it) and, once per model
structure before that structure's cells fan out, :func:`compile_cell`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..engines import get_engine
from ..hashing import data_hash
from ..runs.fitting import FitRequest, fit_record, prepare_request
from ..runs.task import Task, WorkContext
from .powerscale import brms_power_scaling


@dataclass
class CellTask:
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
    conf_level : float
        Interval level of the tidy rows.
    power_scaling : bool
        Compute prior/likelihood power-scaling sensitivity (engines with brms's ``lprior``
        and ``log_lik``: capability ``loo``).
    extra : dict
        ``prior_text`` (the priors as written, for listings) and ``reference`` (brms's form of
        the priors, for an inexact engine's pilot check).
    shared_with : str, optional
        The task whose fit this one is (same engine and key: e.g. an engine that takes no
        priors, on cells that differ only in priors); None when this task fits.
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
    conf_level: float = 0.95
    power_scaling: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    shared_with: str | None = None

    @property
    def name(self) -> str:
        """``<cell>__<engine>``: the checkpoint's file stem."""
        return f"{self.cell}__{self.engine}"

    def request(self) -> FitRequest:
        """The fit this task asks for."""
        return FitRequest(self.engine, self.formula, self.family, self.data, list(self.priors),
                          dict(self.options), self.conf_level, dict(self.stanvars))


def structure(task: CellTask) -> str:
    """Tasks with one structure share one Stan program (as far as Python can tell): the
    formula, family, prior forms (constants as data names) and columns; and the data too, for
    families whose default priors brms computes from the data.
    """
    fam = task.family
    data_dependent = not any(f in fam for f in ("bernoulli", "binomial"))
    parts = {"formula": task.formula, "family": fam,
             "priors": [p.to_dict() for p in task.priors],
             "columns": list(task.data.columns),
             "data": data_hash(task.data) if data_dependent else ""}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def fit_cell(task: Task, context: WorkContext) -> dict[str, Any]:
    """The run engine's work for a cell: fit it, save the brmsfit, return the record."""
    cell: CellTask = task.payload
    caps = get_engine(cell.engine).capabilities

    def add(fit: Any, record: dict[str, Any]) -> None:
        if cell.power_scaling and caps.loo:  # needs brms's lprior and log_lik draws
            record["power_scaling"] = brms_power_scaling(fit)

    record, _fit = fit_record(cell.request(), fit_path=context.fit_path, add=add)
    record["cell"] = cell.cell
    return record


def fit_cell_here(cell: CellTask) -> tuple[dict[str, Any], Any]:
    """Fit a cell in this process without a checkpoint: ``(record, fit)`` (the pilot check)."""
    return fit_record(cell.request())


def compile_cell(task: Task) -> dict[str, Any]:
    """Build a cell's Stan program and compile it into the cache (or find it there).

    What a run does once per model structure before that structure's cells fan out, so no two
    workers compile one program and no cell waits for another cell's sampling.
    """
    return prepare_request(task.payload.request())


def run_task(cell: CellTask) -> Task:
    """``cell`` as a task of the run engine."""
    caps = get_engine(cell.engine).capabilities
    chains = int(cell.options.get("chains", 4)) if caps.sampler else 0
    iters = int(cell.options.get("iter", 2000)) if caps.sampler else 1
    return Task(
        name=cell.name, engine=cell.engine, key=cell.key, work=fit_cell, payload=cell,
        structure=structure(cell) if caps.compiles else None,
        prepare=compile_cell if caps.compiles else None,
        label=f"{cell.cell} · {cell.engine}", describe=f"{len(cell.data):,} rows",
        cost=float(len(cell.data)) * max(chains, 1) * iters, chains=chains,
        native=caps.saves_native,
    )
