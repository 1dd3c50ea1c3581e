"""How long a task may run, how often it is retried, how much memory its R host may use.

Every task of a run has a wall-clock limit per attempt. Given (``--task-timeout``,
``task_timeout`` in a grid or study file), it is the same for every task. Otherwise it is
derived as the run goes: before a task of an engine has finished, :data:`FIRST_TIMEOUT`; once
some have, :data:`FACTOR` times the time the slowest finished task of that engine took per unit
of cost, applied to this task's cost, but never under :data:`MIN_TIMEOUT` nor over
:data:`FIRST_TIMEOUT`. A model structure's compile step gets :data:`PREPARE_TIMEOUT`. A task
that times out, crashes its R or runs out of memory is retried ``retries`` times (on a fresh R
host), then recorded as failed with the reason; a task whose own code raises is not retried (it
would raise again).

The memory limit is per R host (a task's R and its children, such as rstan's parallel chains):
given (``--memory-limit 8GiB``), or by default 90% of the machine's memory shared between the
hosts that run at once on it (a Dask worker's own ``memory_limit`` when it has one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from .task import Task

#: the limit of a task whose engine has no finished task yet (seconds)
FIRST_TIMEOUT = 4 * 3600.0
#: the derived limit is never shorter than this (seconds)
MIN_TIMEOUT = 600.0
#: derived limit = FACTOR x the slowest finished same-engine task's seconds per unit of cost
FACTOR = 10.0
#: the compile step of one model structure (brms: 70-90 s here)
PREPARE_TIMEOUT = 3600.0
#: share of the machine's memory the R hosts running at once may use together
MEMORY_SHARE = 0.9

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12,
          "tib": 2**40}


def parse_memory(text: str | int | float | None) -> int | None:
    """``"8GiB"``, ``"500MB"``, ``"12g"`` or a number of bytes -> bytes (None stays None).

    Raises
    ------
    SpecError
        For text that is not a size.
    """
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise SpecError(f"memory limit must be positive, got {text!r}")
        return int(text)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise SpecError(f"memory limit {text!r}: write a size such as 8GiB, 500MB or 12g")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0:
        raise SpecError(f"memory limit must be positive, got {text!r}")
    return int(value)


def check_timeout(value: float | int | None, what: str = "task timeout") -> float | None:
    """A time limit in seconds (positive), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SpecError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Limits:
    """The limits of a run's tasks.

    Attributes
    ----------
    timeout : float, optional
        Seconds one attempt of a task may take; None derives it (module docstring).
    retries : int
        Attempts after the first for a task that timed out, crashed or ran out of memory.
    memory : int, optional
        Bytes an R host may use; None: the machine's share (module docstring).
    isolate : bool
        Run each task in a supervised R host (:mod:`pybrms.runs.host`). False runs tasks in
        this process, with no time or memory limit (for a debugger).
    """

    timeout: float | None = None
    retries: int = 1
    memory: int | None = None
    isolate: bool = True

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) \
                or self.retries < 0:
            raise SpecError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if self.memory is not None and (not isinstance(self.memory, int) or self.memory <= 0):
            raise SpecError(f"memory limit must be a positive number of bytes, got "
                            f"{self.memory!r}")


def resolve_limits(given: Mapping[str, Any] | None = None, *,
                   task_timeout: float | None = None, retries: int | None = None,
                   memory_limit: str | int | None = None, isolate: bool = True) -> Limits:
    """A run's limits: the arguments given, else a grid or study file's ``task_timeout``,
    ``retries`` and ``memory_limit`` (``given``), else the defaults.

    Raises
    ------
    SpecError
        For a time limit, retry count or memory size that is not one.
    """
    given = given or {}
    timeout = task_timeout if task_timeout is not None else given.get("task_timeout")
    tries = retries if retries is not None else given.get("retries", 1)
    memory = memory_limit if memory_limit is not None else given.get("memory_limit")
    return Limits(timeout=check_timeout(timeout), retries=tries, memory=parse_memory(memory),
                  isolate=isolate)


@dataclass
class TimeoutPolicy:
    """Each task's limit at the moment it starts (see the module docstring)."""

    limits: Limits
    rates: dict[str, float] = field(default_factory=dict)

    def observe(self, task: Task, seconds: float | None) -> None:
        """A finished (or resumed) task's time counts towards its engine's pace."""
        if seconds and seconds > 0:
            rate = float(seconds) / max(float(task.cost), 1e-12)
            self.rates[task.engine] = max(self.rates.get(task.engine, 0.0), rate)

    def for_task(self, task: Task) -> float:
        """The limit of one attempt of ``task`` (seconds)."""
        if task.timeout is not None:
            return float(task.timeout)
        if self.limits.timeout is not None:
            return float(self.limits.timeout)
        rate = self.rates.get(task.engine)
        if rate is None:
            return FIRST_TIMEOUT
        return min(FIRST_TIMEOUT, max(MIN_TIMEOUT, FACTOR * rate * float(task.cost)))

    def for_prepare(self) -> float:
        """The limit of a structure's compile step (seconds)."""
        if self.limits.timeout is not None:
            return max(float(self.limits.timeout), PREPARE_TIMEOUT)
        return PREPARE_TIMEOUT


def machine_share(hosts: int) -> int:
    """The default memory limit of one of ``hosts`` R hosts on this machine (bytes)."""
    import psutil

    return int(psutil.virtual_memory().total * MEMORY_SHARE / max(int(hosts), 1))
