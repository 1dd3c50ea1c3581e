"""Progress of a run: tasks done and remaining, chain progress, failures, an ETA.

Lines go to a text stream (stderr by default), one per event, so they read well in a terminal,
a log file or CI output alike::

    [3/10] 1b_all · brms · fitting (12,402 rows; 4 chains x 1000 draws) · ETA 0:41:10
    [3/10] 1b_all · brms · chains 1:100% 2:100% 3:40% 4:35% (warmup) · 69% in 0:03:12 · ETA 0:38:05
    [3/10] 1b_all · brms · done in 0:05:20 (compiled a new Stan program) · ETA 0:33:40

Chain lines come from R's console (``cores = 1``) or from rstan's worker processes (``cores >
1``: the bridge routes their standard output here) of the task running in this process; a
status line is written each time its iterations, over all its chains, pass another 5%. The ETA
assumes a task costs time in proportion to its ``cost`` (rows x chains x iterations for a
sampler, rows otherwise), scaled by the tasks of the same engine finished (or resumed with
their fit time) in this run, or, before one has finished, by the running task's iterations so
far (warm-up's early iterations are the slowest, so that first estimate runs long). With
several workers the time left is shared between them.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from .task import Task

_CHAIN = re.compile(r"Chain (\d+):?\s+Iteration:\s*(\d+)\s*/\s*(\d+)\s*\[\s*(\d+)%\]\s*\((\w+)\)")


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def first_line(message: str) -> str:
    """The first non-empty line of an error message (``"error"`` if there is none)."""
    return next((line.strip() for line in message.splitlines() if line.strip()), "error")


class Progress:
    """Reports a run's progress.

    Parameters
    ----------
    tasks : sequence of Task
        Every task of the run, in run order.
    stream : text stream, optional
        Where lines go (default ``sys.stderr``).
    enabled : bool
        False silences everything (``--quiet``); lines are still kept in :attr:`lines`.
    workers : int
        Tasks running at once (the ETA shares the work left between them).
    name : str
        Prefix of free-form notes that concern no task (``"sensitivity"``).
    """

    def __init__(self, tasks: Sequence[Task], stream: TextIO | None = None,
                 enabled: bool = True, workers: int = 1, name: str = "") -> None:
        self.tasks = list(tasks)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.workers = max(int(workers), 1)
        self.name = name
        self.total = len(self.tasks)
        self.index = 0
        self.failures = 0
        self.current: Task | None = None
        self.started = 0.0
        self.remaining: dict[str, float] = {t.name: float(t.cost) for t in self.tasks}
        self.spent: dict[str, list[float]] = {}  # engine -> [seconds, cost] of finished tasks
        self._chains: dict[int, tuple[float, str]] = {}  # chain -> (share of iterations, phase)
        self._step = -1
        self.lines: list[str] = []

    def _emit(self, text: str) -> None:
        self.lines.append(text)
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def _prefix(self, task: Task) -> str:
        return f"[{self.index}/{self.total}] {task.label}"

    def _fraction(self) -> float | None:
        """Share of the running task's iterations done, over all its chains."""
        task = self.current
        if task is None or not self._chains:
            return None
        return sum(done for done, _ in self._chains.values()) / max(task.chains, 1)

    def _eta_parts(self) -> tuple[float, set[str]]:
        """Seconds left for the tasks whose pace is known, and the engines whose pace is not."""
        rates = {engine: seconds / cost for engine, (seconds, cost) in self.spent.items()
                 if cost > 0}
        elapsed = time.perf_counter() - self.started
        frac = self._fraction()
        current = self.current
        paced = current is not None and frac is not None and frac >= 0.02
        if paced and current.engine not in rates:
            rates[current.engine] = elapsed / (frac * self.remaining[current.name])
        left, unknown = 0.0, set()
        for task in self.tasks:
            cost = self.remaining.get(task.name)
            if cost is None:
                continue
            if task is current and paced:
                left += elapsed * (1 - frac) / frac
                continue
            rate = rates.get(task.engine)
            if rate is None:
                unknown.add(task.engine)
                continue
            left += max(0.0, cost * rate - (elapsed if task is current else 0.0))
        share = min(self.workers, max(len(self.remaining), 1))
        return left / share, unknown

    def eta_seconds(self) -> float | None:
        """Estimated seconds left for the tasks not finished yet (None before any estimate)."""
        left, unknown = self._eta_parts()
        return None if unknown else left

    def _eta(self) -> str:
        left, unknown = self._eta_parts()
        if not unknown:
            return f"ETA {format_seconds(left)}"
        if left > 0:
            return (f"ETA {format_seconds(left)} + the {', '.join(sorted(unknown))} tasks "
                    "(pace unknown until one finishes)")
        return "ETA unknown until a task of each engine finishes"

    def _pace(self, task: Task, seconds: float | None, cost: float | None) -> None:
        if seconds and cost:
            spent = self.spent.setdefault(task.engine, [0.0, 0.0])
            spent[0] += float(seconds)
            spent[1] += cost

    def resumed(self, task: Task, seconds: float | None = None) -> None:
        """A task whose checkpoint was found: nothing to do.

        ``seconds`` (the checkpointed fit's time) counts towards its engine's pace, so a
        resumed run has an ETA from its first line.
        """
        self.index += 1
        self._pace(task, seconds, self.remaining.pop(task.name, None))
        self._emit(f"{self._prefix(task)} · resumed from checkpoint (not refitted)")

    def start(self, task: Task) -> None:
        """A task starts in this process (its console output follows)."""
        self.index += 1
        self.current = task
        self.started = time.perf_counter()
        self._chains = {}
        self._step = -1
        what = f" ({task.describe})" if task.describe else ""
        self._emit(f"{self._prefix(task)} · fitting{what} · {self._eta()}")

    def console(self, text: str) -> None:
        """Console output of the running task: chain progress lines become status lines."""
        task = self.current
        if task is None:
            return
        phase = ""
        for match in _CHAIN.finditer(text):
            done, total = int(match.group(2)), int(match.group(3))
            phase = match.group(5).lower()
            self._chains[int(match.group(1))] = (done / max(total, 1), phase)
        frac = self._fraction()
        if not phase or frac is None or int(frac * 20) == self._step:
            return
        self._step = int(frac * 20)
        chains = " ".join(f"{c}:{round(100 * f)}%" for c, (f, _) in sorted(self._chains.items()))
        elapsed = format_seconds(time.perf_counter() - self.started)
        self._emit(f"{self._prefix(task)} · chains {chains} ({phase}) · {round(100 * frac)}% in "
                   f"{elapsed} · {self._eta()}")

    def note(self, text: str) -> None:
        """A free-form line: about the running task if there is one, else about the run."""
        task = self.current
        if task is not None:
            self._emit(f"{self._prefix(task)} · {text}")
        else:
            self._emit(f"{self.name}: {text}" if self.name else text)

    def _end(self, task: Task) -> float:
        """The task is no longer running or remaining; returns its cost."""
        if self.current is task:
            self.current = None
            self._chains = {}
        else:  # finished elsewhere (a worker): count it now
            self.index += 1
        return self.remaining.pop(task.name, 0.0)

    def failed(self, task: Task, seconds: float, message: str) -> None:
        """A task failed; the run goes on (``keep_going``) and the next run retries it."""
        self._end(task)
        self.failures += 1
        self._emit(f"{self._prefix(task)} · FAILED after {format_seconds(seconds)}: "
                   f"{first_line(message)[:300]} · {self._eta()}")

    def finish(self, task: Task, seconds: float, detail: str = "") -> None:
        """A task finished (its checkpoint is written)."""
        self._pace(task, seconds, self._end(task))
        extra = f" ({detail})" if detail else ""
        self._emit(f"{self._prefix(task)} · done in {format_seconds(seconds)}{extra} · "
                   f"{self._eta()}")

    def summary(self) -> dict[str, Any]:
        """Counts so far: ``done``, ``failed``, ``left``."""
        return {"done": self.index - self.failures, "failed": self.failures,
                "left": len(self.remaining)}
