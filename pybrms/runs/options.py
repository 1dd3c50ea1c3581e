"""The command-line pieces every multi-fit command shares: where its tasks run (a local Dask
cluster or a running scheduler), their limits, and how a run's outputs and failures are told.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .limits import FIRST_TIMEOUT, MIN_TIMEOUT, Limits, resolve_limits
from .progress import first_line

WORKERS_HELP = "start a local Dask cluster of N single-threaded worker processes"
SCHEDULER_HELP = "address of a running Dask scheduler (tcp://host:8786)"


def add_cluster_options(parser: argparse.ArgumentParser, *, workers_help: str = WORKERS_HELP,
                        scheduler_help: str = SCHEDULER_HELP) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` (one or the other)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N", help=workers_help)
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help=scheduler_help)


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


def print_failures(failed: Mapping[str, str]) -> None:
    """``FAILED name: reason`` on stderr for every failed fit (the reason's first line)."""
    for name, message in failed.items():
        print(f"FAILED {name}: {first_line(message)}", file=sys.stderr)


def print_outcome(outputs: Mapping[str, Path], keys: Iterable[str],
                  failed: Mapping[str, str]) -> int:
    """Print where each of ``keys``' outputs is (``key name: path``) and every failure; the
    command's exit status (1 if a fit failed).
    """
    for key in keys:
        if key in outputs:
            print(f"{key.replace('_', ' ')}: {outputs[key]}")
    print_failures(failed)
    return 1 if failed else 0
