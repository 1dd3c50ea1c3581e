"""Work functions with injected faults, for the run engine's isolation tests and stress runs.

They are module-level so an R host (a child process) can import them by name. The faults:
``hang`` (sleeps past any sensible limit), ``crash`` (the host process dies by SIGSEGV, as R
does when it segfaults), ``abort_r`` (R itself aborts), ``raise`` (the task's code raises),
``kill_worker`` (the process that owns the host, a Dask worker, is killed mid-task), ``hog``
(memory far above the limit). A fault fires only while its marker file exists, so a rerun
after the marker is removed runs the task cleanly.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from pybrms.errors import EngineError
from pybrms.runs.fitting import FitRequest, fit_record
from pybrms.runs.task import Task, WorkContext
from pybrms.spec.prior_tables import to_priors


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)


def raise_engine_error(message: str) -> None:
    raise EngineError(message)


def hog(nbytes: int, seconds: float = 30.0) -> int:
    block = bytearray(nbytes)
    for i in range(0, nbytes, 4096):
        block[i] = 1
    time.sleep(seconds)
    return len(block)


def talk(lines: int, echo: Any = None) -> int:
    for i in range(lines):
        echo(f"Chain 1: Iteration: {i + 1} / {lines} [{100 * (i + 1) // lines}%]  (Sampling)\n")
    return lines


def pid() -> int:
    return os.getpid()


def fire(fault: str | None, marker: str | None) -> None:
    """Inject ``fault`` if its marker file exists."""
    if not fault or not marker or not Path(marker).exists():
        return
    if fault == "hang":
        time.sleep(3600)
    elif fault == "crash":
        crash()
    elif fault == "abort_r":
        from pybrms import bridge

        bridge.ensure_r("core")
        bridge.load_rpy2().r("tools::pskill(Sys.getpid(), 6L)")  # SIGABRT
        time.sleep(10)
    elif fault == "raise":
        raise EngineError("a failure made by the test")
    elif fault == "kill_worker":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    elif fault == "hog":
        hog(8 * 2**30)


def work(task: Task, context: WorkContext) -> dict[str, Any]:
    """A task's work: maybe a fault, then a real fit (payload: ``request``, ``fault``,
    ``marker``)."""
    p = task.payload
    fire(p.get("fault"), p.get("marker"))
    if p.get("request") is None:
        return {"engine": task.engine, "value": p.get("value"), "tidy": []}
    record, _fit = fit_record(p["request"], fit_path=context.fit_path)
    return record


#: the priors of the brms fits: the same forms as tests/slow/test_simstudy_brms.py's, their
#: constants passed as Stan data, so both tests share one compiled program
PRIORS = [{"prior": "normal(0, 2)", "class": "b"}, {"prior": "normal(0, 2)", "class": "Intercept"},
          {"prior": "lognormal(-1, 0.5)", "class": "sd"},
          {"prior": "lognormal(0, 0.5)", "class": "sigma"}]


def request(engine: str, data: Any, seed: int) -> FitRequest:
    """A small fit of ``y ~ x + (1 | g)`` (gaussian) with short chains for samplers."""
    priors, stanvars = to_priors(PRIORS, as_data=engine == "brms")
    options = {"chains": 1, "iter": 200, "warmup": 100, "seed": seed, "cores": 1,
               "quiet": True, "refresh": 0, "diagnose": False}
    if stanvars:
        options["stanvars"] = stanvars
    return FitRequest(engine, "y ~ x + (1 | g)", "gaussian", data, priors, options)
