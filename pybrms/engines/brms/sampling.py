"""The one sampling path of the brms engine, shared by a new fit and ``update()``.

Both hand a model to rstan through brms (``brm(fit = x, ...)`` for a fit,
``update(fit, recompile = FALSE)`` for a refit) with the same refresh rule, the same live
console echo, the same capture of R's warnings (kept for the provenance, then emitted) and the
same timing.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ... import bridge


def refresh_every(iterations: int, quiet: bool, refresh: int | None = None) -> int:
    """Rstan's ``refresh``: a progress line every tenth of the iterations, none when quiet.

    ``quiet`` must silence rstan's worker processes too (with ``cores > 1`` they print).
    """
    if refresh is not None:
        return refresh
    return 0 if quiet else max(int(iterations) // 10, 1)


def live_echo(quiet: bool, echo: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Where the sampler's console output goes while it runs: ``echo``, else stderr; nowhere
    when quiet.
    """
    if quiet:
        return None
    return echo if echo is not None else bridge.write_console


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect the warnings raised in the block (each once, in R's words), then emit them as
    they came, so a caller's filters still apply. The list is filled when the block ends.
    """
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        yield caught
    for w in record:
        text = " ".join(str(w.message).split())
        if text and text not in caught:
            caught.append(text)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def run(fname: str, *args: Any, cores: int, quiet: bool,
        echo: Callable[[str], None] | None = None) -> tuple[Any, float]:
    """Call the R sampling helper ``fname`` (``pybrms_sample``, ``pybrms_update``); return the
    R brmsfit and the seconds it took.

    With ``cores > 1`` rstan's worker processes print to standard output themselves; their
    lines are routed through the same echo as R's console.
    """
    t0 = time.perf_counter()
    rfit = bridge.call(fname, *args, echo=live_echo(quiet, echo), children=cores > 1)
    return rfit, time.perf_counter() - t0
