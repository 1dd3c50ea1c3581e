"""Progress across a whole ``pybrms replicate`` run: units done/remaining, chain progress, ETA.

Lines go to a text stream (stderr by default), one per event, so they read well in a terminal,
a log file or CI output alike::

    [3/10] 1b_all · brms · fitting (12,402 rows; 4 chains x 1000 draws) · ETA 0:41:10
    [3/10] 1b_all · brms · chains 1:100% 2:100% 3:40% 4:35% (warmup) · 69% in 0:03:12 · ETA 0:38:05
    [3/10] 1b_all · brms · done in 0:05:20 (compiled a new Stan program)

Chain lines come from R's console (``cores = 1``) or from rstan's worker processes (``cores > 1``:
the bridge routes their standard output here); a status line is written each time the unit's
iterations, over all its chains, pass another 5%. The ETA assumes a unit costs time in proportion
to rows x chains x iterations (brms) or rows (lme4, statsmodels), scaled by the units of the same
engine finished in this run, or, before one has finished, by the running brms unit's iterations
so far (warm-up's early iterations are the slowest, so that first estimate runs long).
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

from ..engines import capabilities
from .plan import Unit

_CHAIN = re.compile(r"Chain (\d+):?\s+Iteration:\s*(\d+)\s*/\s*(\d+)\s*\[\s*(\d+)%\]\s*\((\w+)\)")


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def first_line(message: str) -> str:
    """The first non-empty line of an error message (``"error"`` if there is none)."""
    return next((line.strip() for line in message.splitlines() if line.strip()), "error")


def unit_cost(unit: Unit, rows: int) -> float:
    """Relative cost of a unit (see the module docstring)."""
    m = unit.model
    return float(rows) * (m.chains * m.iter if capabilities(unit.engine).sampler else 1.0)


class Progress:
    """Reports a run's progress.

    Parameters
    ----------
    units : list of (Unit, int)
        Every unit of the run with its number of data rows, in run order.
    stream : text stream, optional
        Where lines go (default ``sys.stderr``).
    enabled : bool
        False silences everything (``--quiet``).
    """

    def __init__(self, units: list[tuple[Unit, int]], stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.units = units
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.total = len(units)
        self.index = 0
        self.current: Unit | None = None
        self.started = 0.0
        self.remaining: dict[str, float] = {}
        for unit, rows in units:
            self.remaining[unit.name] = unit_cost(unit, rows)
        self.spent: dict[str, list[float]] = {}  # engine -> [seconds, cost] of finished units
        self._chains: dict[int, tuple[float, str]] = {}  # chain -> (share of iterations, phase)
        self._step = -1
        self.lines: list[str] = []

    def _emit(self, text: str) -> None:
        self.lines.append(text)
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def _prefix(self, unit: Unit) -> str:
        return f"[{self.index}/{self.total}] {unit.model.name} · {unit.engine}"

    def _fraction(self) -> float | None:
        """Share of the current brms unit's iterations done, over all its chains."""
        unit = self.current
        if unit is None or not self._chains:
            return None
        return sum(done for done, _ in self._chains.values()) / max(unit.model.chains, 1)

    def _eta_parts(self) -> tuple[float, set[str]]:
        """Seconds left for the units whose pace is known, and the engines whose pace is not."""
        rates = {engine: seconds / cost for engine, (seconds, cost) in self.spent.items() if cost > 0}
        elapsed = time.perf_counter() - self.started
        frac = self._fraction()
        current = self.current
        paced = current is not None and frac is not None and frac >= 0.02
        if paced and current.engine not in rates:
            rates[current.engine] = elapsed / (frac * self.remaining[current.name])
        left, unknown = 0.0, set()
        for unit, _rows in self.units:
            cost = self.remaining.get(unit.name)
            if cost is None:
                continue
            if unit is current and paced:
                left += elapsed * (1 - frac) / frac
                continue
            rate = rates.get(unit.engine)
            if rate is None:
                unknown.add(unit.engine)
                continue
            left += max(0.0, cost * rate - (elapsed if unit is current else 0.0))
        return left, unknown

    def eta_seconds(self) -> float | None:
        """Estimated seconds left for the units not finished yet (None before any estimate)."""
        left, unknown = self._eta_parts()
        return None if unknown else left

    def _eta(self) -> str:
        left, unknown = self._eta_parts()
        if not unknown:
            return f"ETA {format_seconds(left)}"
        if left > 0:
            return (f"ETA {format_seconds(left)} + the {', '.join(sorted(unknown))} units "
                    "(pace unknown until one finishes)")
        return "ETA unknown until a unit of each engine finishes"

    def resumed(self, unit: Unit, seconds: float | None = None) -> None:
        """A unit whose checkpoint was found: nothing to do.

        ``seconds`` (the checkpointed fit's time) counts towards its engine's pace, so a
        resumed run has an ETA from its first line.
        """
        self.index += 1
        cost = self.remaining.pop(unit.name, None)
        if seconds and cost:
            spent = self.spent.setdefault(unit.engine, [0.0, 0.0])
            spent[0] += float(seconds)
            spent[1] += cost
        self._emit(f"{self._prefix(unit)} · resumed from checkpoint (not refitted)")

    def start(self, unit: Unit, rows: int) -> None:
        """A unit starts fitting."""
        self.index += 1
        self.current = unit
        self.started = time.perf_counter()
        self._chains = {}
        self._step = -1
        m = unit.model
        what = f"{rows:,} rows" + (f"; {m.chains} chains x {m.draws} draws after {m.warmup} warm-up"
                                   if capabilities(unit.engine).sampler else "")
        self._emit(f"{self._prefix(unit)} · fitting ({what}) · {self._eta()}")

    def console(self, text: str) -> None:
        """R console output of the current unit: chain progress lines become status lines."""
        unit = self.current
        if unit is None:
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
        self._emit(f"{self._prefix(unit)} · chains {chains} ({phase}) · {round(100 * frac)}% in "
                   f"{elapsed} · {self._eta()}")

    def note(self, text: str) -> None:
        """A free-form line about the current unit (compile, cache hit)."""
        unit = self.current
        self._emit(f"{self._prefix(unit)} · {text}" if unit is not None else text)

    def _end(self, unit: Unit) -> float:
        """The unit is no longer running or remaining; returns its cost."""
        self.current = None
        self._chains = {}
        return self.remaining.pop(unit.name, 0.0)

    def failed(self, unit: Unit, seconds: float, message: str) -> None:
        """A unit raised; the run goes on (``--keep-going``) and the next run retries it."""
        self._end(unit)
        self._emit(f"{self._prefix(unit)} · FAILED after {format_seconds(seconds)}: "
                   f"{first_line(message)[:300]} · {self._eta()}")

    def finish(self, unit: Unit, seconds: float, detail: str = "") -> None:
        """A unit finished (its checkpoint is written)."""
        cost = self._end(unit)
        spent = self.spent.setdefault(unit.engine, [0.0, 0.0])
        spent[0] += seconds
        spent[1] += cost
        extra = f" ({detail})" if detail else ""
        self._emit(f"{self._prefix(unit)} · done in {format_seconds(seconds)}{extra} · {self._eta()}")
