"""``pybrms sensitivity``: fit a multiverse grid with brms and lme4 side by side, on Dask."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cliargs import RESUMES, add_command, add_out
from ..engines import get_engine
from ..errors import SpecError
from ..plugins import grid_from
from ..runs.options import add_cluster_options, add_limit_options, print_outcome
from .grid import load_grid
from .runner import GridCheck, check_grid, grid_limits, run_grid


def print_plan(check: GridCheck) -> None:
    """The dry run's listing: every task, the fit it shares, what was checked."""
    tasks = check.tasks
    for t in tasks:
        caps = get_engine(t.engine).capabilities
        if t.shared_with:
            why = "takes no priors" if not caps.uses_priors else "same model, data and options"
            print(f"{t.name}  = {t.shared_with} ({t.engine} {why}: one fit)")
            continue
        priors = ("; ".join(t.extra["prior_text"]) or "brms defaults") if caps.uses_priors \
            else "-"
        print(f"{t.name}  ({len(t.data):,} rows)  {t.formula}  priors: {priors}")
    cells = len({t.cell for t in tasks})
    shared = len(tasks) - len(check.fits)
    print(f"{cells} cell(s), {len(check.fits)} fit(s)"
          + (f" ({shared} cell x engine pair(s) share another's fit)" if shared else "")
          + "; checked, nothing fitted")
    if check.checked is not None:
        built = ", ".join(f"{e} {n}" for e, n in check.checked.structures.items())
        print(f"checked by each engine without fitting, once per model structure ({built}; "
              f"brms: its build step and Stan's parser, no compile) in "
              f"{check.checked.seconds:.1f} s")
    for note in check.notes:
        print(f"note: {note}")


def run(args: argparse.Namespace) -> int:
    """Build the grid (file or ``--from``), check it, fit it, print where the outputs are."""
    if (args.grid is None) == (args.from_spec is None):
        raise SpecError("give a grid file or --from SOURCE (one of them)")
    engines = [e.strip() for e in args.engines.split(",")] if args.engines else None
    if args.from_spec is not None:
        grid = grid_from(args.from_spec, data=args.data, scores=args.scores, model=args.model,
                         engines=engines)
    else:
        if args.data is not None:
            raise SpecError("--data goes with --from; a grid file names its data in [base]")
        grid = load_grid(args.grid)
        if engines:
            grid.base["engines"] = engines
    design = args.design or ("one_at_a_time" if args.quick and args.from_spec else "full")
    out = Path(args.out)
    if args.dry_run:
        check = check_grid(grid, grid.cells(design=design), out, quick=args.quick)
        print_plan(check)
        for note in grid.notes:
            print(f"note: {note}")
        return 0
    limits = grid_limits(grid, task_timeout=args.task_timeout, retries=args.retries,
                         memory_limit=args.memory_limit)
    result = run_grid(grid, out, workers=args.workers, scheduler=args.scheduler,
                      quick=args.quick, design=design, keep_going=args.keep_going,
                      quiet=args.quiet, power_scaling=not args.no_power_scaling,
                      pilot=not args.no_pilot, limits=limits)
    return print_outcome(result.outputs,
                         ("cells", "curve_png", "summary_md", "summary_html", "summary_tex"),
                         result.failed)


EXAMPLES = (
    ("check every cell of the example grid (in a pybrms checkout) and list its fits",
     "pybrms sensitivity examples/grids/cbpp.toml --dry-run"),
    ("fit it on 2 local Dask workers into ./cbpp-grid (run it again to resume)",
     "pybrms sensitivity examples/grids/cbpp.toml --workers 2 --out cbpp-grid"),
    ("lme4 only: seconds, no Stan",
     "pybrms sensitivity examples/grids/cbpp.toml --engines lme4 --out cbpp-lme4"),
    ("a grid from the paper plugin's spec on its bundled simulated data, short chains",
     "pybrms sensitivity --from analysis_1b --data demo --quick --workers 2"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms sensitivity``."""
    p = add_command(
        subparsers, "sensitivity",
        help="fit a multiverse grid with brms and lme4, write cells.csv, a specification "
             "curve and a summary",
        description="Fit every cell of a sensitivity grid (a TOML file, or --from a "
                    "plugin's source such as a replication spec) with each engine, "
                    "checkpointing each fit in OUT/cells (a killed run resumes), locally or "
                    "on Dask. Writes OUT/cells.csv (one row per cell, engine and term), a "
                    "specification curve and a summary (Markdown, HTML, LaTeX). A CSV named "
                    "by the grid is read by R's read.csv, as an R script reads it.",
        examples=EXAMPLES,
    )
    p.add_argument("grid", nargs="?", default=None, help="grid file (TOML); or use --from")
    p.add_argument("--from", dest="from_spec", default=None, metavar="SOURCE",
                   help="build the grid from a source a paper plugin knows, e.g. a "
                        "replication spec: analysis_1b or comparisons/analysis_1b.toml")
    p.add_argument("--data", default=None,
                   help="with --from: the data the source reads (for the paper's specs: a "
                        "folder with the PRISM files; 'demo': the bundled simulated data)")
    p.add_argument("--scores", default=None, metavar="FILE",
                   help="with --from: scores table (default: the source's own)")
    p.add_argument("--model", default=None,
                   help="with --from: the spec's model (default its first)")
    add_out(p, "sensitivity", existing=RESUMES)
    add_cluster_options(p)
    p.add_argument("--engines", default=None,
                   help="comma-separated engines for every cell, overriding the grid's "
                        "(e.g. brms,lme4)")
    p.add_argument("--quick", action="store_true",
                   help="short chains (2 x 250 draws); with --from also one axis at a time")
    p.add_argument("--design", choices=("full", "one_at_a_time"), default=None,
                   help="all combinations (default) or the base and each option alone")
    p.add_argument("--dry-run", action="store_true", help="check every cell, list the fits, stop")
    p.add_argument("--keep-going", action="store_true",
                   help="report failed fits and go on (exit status 1)")
    p.add_argument("--no-pilot", action="store_true",
                   help="run the fast engine's cells without first checking it against brms "
                        "on a reduced run of each model structure")
    p.add_argument("--no-power-scaling", action="store_true",
                   help="skip the prior/likelihood power-scaling of the brms fits")
    add_limit_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)
