"""The command-line options every multi-fit command shares for its tasks' limits."""

from __future__ import annotations

import argparse

from .limits import FIRST_TIMEOUT, MIN_TIMEOUT, Limits, resolve_limits


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--task-timeout``, ``--retries`` and ``--memory-limit``."""
    parser.add_argument(
        "--task-timeout", type=float, default=None, metavar="SECONDS",
        help=f"wall-clock limit of one attempt of a fit; past it its R process is killed "
             f"(default: {FIRST_TIMEOUT / 3600:g} h until a fit of the same engine has "
             f"finished, then 10x the slowest such fit's pace, at least {MIN_TIMEOUT:g} s)")
    parser.add_argument(
        "--retries", type=int, default=None, metavar="N",
        help="attempts after the first for a fit that timed out, crashed R or ran out of "
             "memory (default 1); a fit whose own code fails is not retried")
    parser.add_argument(
        "--memory-limit", default=None, metavar="SIZE",
        help="memory one fit's R process (and its children) may use, e.g. 8GiB (default: 90%% "
             "of the machine's memory shared between the fits running at once)")


def limits_from(args: argparse.Namespace) -> Limits:
    """The limits the options give (defaults where they are not given)."""
    return resolve_limits(task_timeout=args.task_timeout, retries=args.retries,
                          memory_limit=args.memory_limit)
