"""Progress across a whole ``pybrms replicate`` run: units done/remaining, chain progress, ETA.

Lines go to a text stream (stderr by default), one per event, so they read well in a terminal,
a log file or CI output alike::

    [3/10] 1b_all · brms · fitting (12,402 rows; 4 chains x 1000 draws) · ETA 0:41:10
    [3/10] 1b_all · brms · chain 2 60% (sampling) · unit 0:03:12 · ETA 0:38:05
    [3/10] 1b_all · brms · done in 0:05:20 (compiled a new Stan program)

The ETA assumes a unit costs time in proportion to rows x chains x iterations (brms) or rows
(lme4, statsmodels), scaled by the units of the same engine finished in this run.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

from .plan import Unit

_CHAIN = re.compile(r"Chain (\d+):?\s+Iteration:\s*(\d+)\s*/\s*(\d+)\s*\[\s*(\d+)%\]\s*\((\w+)\)")


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def unit_cost(unit: Unit, rows: int) -> float:
    """Relative cost of a unit (see the module docstring)."""
    m = unit.model
    return float(rows) * (m.chains * m.iter if unit.engine == "brms" else 1.0)


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
        self._last_pct: dict[str, int] = {}
        self.lines: list[str] = []

    def _emit(self, text: str) -> None:
        self.lines.append(text)
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def _prefix(self, unit: Unit) -> str:
        return f"[{self.index}/{self.total}] {unit.model.name} · {unit.engine}"

    def eta_seconds(self) -> float | None:
        """Estimated seconds left for the units not finished yet (None before any estimate)."""
        left = 0.0
        for unit, _rows in self.units:
            cost = self.remaining.get(unit.name)
            if cost is None:
                continue
            seconds, done_cost = self.spent.get(unit.engine, [0.0, 0.0])
            if done_cost <= 0:
                return None
            left += cost * seconds / done_cost
        if self.current is not None:
            left = max(0.0, left - (time.perf_counter() - self.started))
        return left

    def _eta(self) -> str:
        eta = self.eta_seconds()
        return "ETA unknown until a unit of each engine finishes" if eta is None else \
            f"ETA {format_seconds(eta)}"

    def resumed(self, unit: Unit) -> None:
        """A unit whose checkpoint was found: nothing to do."""
        self.index += 1
        self.remaining.pop(unit.name, None)
        self._emit(f"{self._prefix(unit)} · resumed from checkpoint (not refitted)")

    def start(self, unit: Unit, rows: int) -> None:
        """A unit starts fitting."""
        self.index += 1
        self.current = unit
        self.started = time.perf_counter()
        self._last_pct = {}
        m = unit.model
        what = f"{rows:,} rows" + (f"; {m.chains} chains x {m.draws} draws after {m.warmup} warm-up"
                                   if unit.engine == "brms" else "")
        self._emit(f"{self._prefix(unit)} · fitting ({what}) · {self._eta()}")

    def console(self, text: str) -> None:
        """R console output of the current unit: chain progress lines become status lines."""
        unit = self.current
        if unit is None:
            return
        for match in _CHAIN.finditer(text):
            chain, pct, phase = match.group(1), int(match.group(4)), match.group(5).lower()
            if self._last_pct.get(chain) == pct:
                continue
            self._last_pct[chain] = pct
            elapsed = format_seconds(time.perf_counter() - self.started)
            self._emit(f"{self._prefix(unit)} · chain {chain} {pct}% ({phase}) · unit {elapsed}"
                       f" · {self._eta()}")

    def note(self, text: str) -> None:
        """A free-form line about the current unit (compile, cache hit)."""
        unit = self.current
        self._emit(f"{self._prefix(unit)} · {text}" if unit is not None else text)

    def finish(self, unit: Unit, seconds: float, detail: str = "") -> None:
        """A unit finished (its checkpoint is written)."""
        cost = self.remaining.pop(unit.name, 0.0)
        spent = self.spent.setdefault(unit.engine, [0.0, 0.0])
        spent[0] += seconds
        spent[1] += cost
        self.current = None
        extra = f" ({detail})" if detail else ""
        self._emit(f"{self._prefix(unit)} · done in {format_seconds(seconds)}{extra} · {self._eta()}")
