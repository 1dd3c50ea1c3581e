"""The ``pybrms`` command. Each sub-command lives in its own module with ``register(subparsers)``;
paper plugins (:mod:`pybrms.plugins`) add their own.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import PybrmsError
from .plugins import plugins

#: modules that add sub-commands; each defines ``register(subparsers)`` which adds a parser whose
#: default ``func(args) -> int`` runs the command.
COMMAND_MODULES: tuple[str, ...] = (
    "pybrms.doctor",
    "pybrms.demo",
    "pybrms.compare.cli",
    "pybrms.sensitivity.cli",
    "pybrms.simstudy.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="pybrms", description="brms from Python, exactly; lme4/statsmodels beside it."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for plugin in plugins():  # paper plugins add theirs (pybrms replicate, ...)
        if plugin.commands is not None:
            plugin.commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``pybrms`` command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PybrmsError as exc:
        print(f"pybrms: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
