"""Score many texts through a cache, with progress (done, remaining, ETA, errors) on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from .base import Scorer, text_sha256
from .cache import ScoreCache


@dataclass
class RunSummary:
    """What a scoring run did.

    Attributes
    ----------
    total : int
        Distinct texts asked for.
    cached : int
        Already in the cache at the start (not re-queried).
    scored : int
        Newly scored in this run.
    errors : int
        Newly recorded permanent (400) errors in this run.
    seconds : float
        Wall time.
    """

    total: int
    cached: int
    scored: int = 0
    errors: int = 0
    seconds: float = 0.0


def _fmt_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def score_texts(
    texts: Iterable[str],
    scorer: Scorer,
    cache: ScoreCache,
    *,
    progress: TextIO | str | None = "stderr",
    every: float = 1.0,
    on_result: Callable[[int, str], None] | None = None,
) -> RunSummary:
    """Score the distinct ``texts`` not yet in ``cache``, committing each result at once.

    Parameters
    ----------
    texts : iterable of str
        Texts to score (duplicates are scored once).
    scorer : Scorer
        The scorer.
    cache : ScoreCache
        Results already there are never re-queried; new ones are committed one by one, so an
        interrupted run (Ctrl-C, crash, kill) resumes where it stopped.
    progress : file, "stderr" or None
        Where the progress lines go: ``"stderr"`` (default, :data:`sys.stderr` at call time), a
        file object, or ``None`` for silence.
    every : float
        Seconds between progress lines.
    on_result : callable, optional
        Called as ``on_result(n_done_this_run, sha)`` after each stored result (a hook for tests
        and UIs; an exception it raises stops the run after the result is committed).

    Returns
    -------
    RunSummary
        Counts of the run.
    """
    if progress == "stderr":
        progress = sys.stderr
    t0 = time.monotonic()
    aset = scorer.attribute_set
    unique: dict[str, str] = {}
    for t in texts:
        unique.setdefault(text_sha256(t), t)
    done = cache.done(aset)
    todo = [(sha, t) for sha, t in unique.items() if sha not in done]
    summary = RunSummary(total=len(unique), cached=len(unique) - len(todo))
    last = 0.0

    def report(final: bool = False) -> None:
        if progress is None:
            return
        n = summary.scored + summary.errors
        elapsed = time.monotonic() - t0
        remaining = len(todo) - n
        eta = elapsed / n * remaining if n else float("nan")
        eta_s = _fmt_eta(eta) if n else "?"
        print(f"scoring: {summary.cached + n}/{summary.total} done ({summary.cached} cached), "
              f"{remaining} remaining, ETA {eta_s}, errors {summary.errors}"
              + (" - finished" if final else ""), file=progress, flush=True)

    try:
        for sha, text in todo:
            result = scorer.score(text)
            cache.put(sha, aset, scorer.name, result)
            if result.ok:
                summary.scored += 1
            else:
                summary.errors += 1
            now = time.monotonic()
            if now - last >= every:
                report()
                last = now
            if on_result is not None:
                on_result(summary.scored + summary.errors, sha)
    finally:
        summary.seconds = time.monotonic() - t0
        report(final=summary.scored + summary.errors == len(todo))
    return summary
