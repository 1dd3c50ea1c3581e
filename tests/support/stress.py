"""The stress run of the run engine: 200 small fits mixing brms, lme4 and statsmodels, with
injected faults (tests/slow/test_runs_stress.py and benchmarks/stress_runs.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from pybrms.runs.fitting import prepare_request
from pybrms.runs.task import Task
from tests.support import faults

#: task number -> the fault it carries (while the marker file exists)
FAULTS = {3: "hang", 5: "abort_r", 7: "kill_worker", 9: "raise"}
#: the hanging task's own time limit (the others use the run's)
HANG_LIMIT = 8.0


def data(i: int) -> pd.DataFrame:
    """Task ``i``'s data: 8 groups x 5 rows of ``y ~ x + (1 | g)`` (gaussian)."""
    rng = np.random.default_rng(1000 + i)
    g = np.repeat(np.arange(8), 5)
    x = rng.normal(size=40)
    y = 0.5 + 0.8 * x + rng.normal(0, 0.7, 8)[g] + rng.normal(0, 1.0, 40)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{k}" for k in g]})


def engine(i: int) -> str:
    """One task in twenty is brms, two in ten statsmodels, the rest lme4."""
    return "brms" if i % 20 == 0 else "statsmodels" if i % 10 in (1, 2) else "lme4"


def prepare(task: Task) -> dict[str, Any]:
    """The brms tasks' compile step (one program for all of them)."""
    return prepare_request(task.payload["request"])


def tasks(n: int = 200, marker: str | None = None) -> list[Task]:
    """The stress run's tasks; faults fire while ``marker`` exists."""
    out = []
    for i in range(n):
        e = engine(i)
        req = faults.request(e, data(i), seed=10 + i)
        fault = FAULTS.get(i) if marker else None
        key = hashlib.sha256(f"stress-{i}-{e}".encode()).hexdigest()
        out.append(Task(
            name=f"t{i:03d}__{e}", engine=e, key=key, work=faults.work,
            payload={"request": req, "fault": fault, "marker": marker},
            structure="stress-brms" if e == "brms" else None,
            prepare=prepare if e == "brms" else None, cost=40.0 * (200 if e == "brms" else 1),
            chains=1 if e == "brms" else 0, native=e == "brms",
            timeout=HANG_LIMIT if fault == "hang" else None))
    return out


def estimates(records: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, float, float]]]:
    """Each record's (term, estimate, std_error) rows, to compare runs."""
    return {name: [(r["term"], r["estimate"], r["std_error"]) for r in rec["tidy"]]
            for name, rec in records.items()}
