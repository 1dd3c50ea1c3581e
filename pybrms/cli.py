"""The ``pybrms`` command. Each sub-command lives in its own module with ``register(subparsers)``;
paper plugins (:mod:`pybrms.plugins`) add their own. Every parser follows
:mod:`pybrms.cliargs`: a description, help on every option, an Examples section.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .cliargs import HelpFormatter, add_commands, examples_epilog
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

EXAMPLES = (
    ("check that R, brms, rstan, lme4 and rpy2 are ready (prints the fix for anything missing)",
     "pybrms doctor"),
    ("a real brms fit of a small bundled dataset, with hypothesis tests",
     "pybrms demo --chains 2 --iter 1000"),
    ("brms, lme4 and statsmodels side by side on a CSV file",
     "Rscript -e 'write.csv(brms::epilepsy, \"epilepsy.csv\", row.names = FALSE)'\n"
     'pybrms compare "count ~ zAge + zBase * Trt + (1 | patient)" --data epilepsy.csv '
     "--family poisson"),
    ("every command's own options and examples", "pybrms compare --help"),
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="pybrms",
        description="brms from Python, exactly: the draws of a plain Rscript brm() call, with "
                    "lme4 and statsmodels fitted beside it, sensitivity grids on Dask and "
                    "paper replications from plugins.",
        epilog=examples_epilog(EXAMPLES),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pybrms {__version__}",
                        help="print pybrms's version and exit")
    sub = add_commands(parser, "command")
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
