"""``pybrms simstudy``: a simulation study from a study file, on the shared run engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cliargs import RESUMES, add_command, add_out
from ..runs.options import add_cluster_options, add_limit_options, print_outcome
from .plan import format_plan, plan_study
from .runner import run_study
from .spec import load_study, study_limits


def run(args: argparse.Namespace) -> int:
    """Check the study; print its plan (``--dry-run``) or run it and say where the outputs are."""
    study = load_study(args.study)
    if args.dry_run:
        plan = plan_study(study, reps=args.reps, quick=args.quick, targets=args.target_mcse,
                          pilot=args.pilot, out=args.out, workers=args.workers,
                          quiet=args.quiet)
        print("\n".join(format_plan(plan)))
        return 0
    limits = study_limits(study, task_timeout=args.task_timeout, retries=args.retries,
                          memory_limit=args.memory_limit)
    result = run_study(study, Path(args.out), workers=args.workers, scheduler=args.scheduler,
                       reps=args.reps, quick=args.quick, keep_going=args.keep_going,
                       quiet=args.quiet, save_fits=args.save_fits, limits=limits)
    return print_outcome(result.outputs, ("estimates", "performance", "convergence", "sbc_test",
                                          "summary_md", "summary_html", "summary_tex"),
                         result.failed)


EXAMPLES = (
    ("check the worked study (in a pybrms checkout): fits, programs, replicates for a target "
     "MCSE", "pybrms simstudy examples/studies/glmm_coverage.toml --dry-run \\\n"
             "    --target-mcse coverage=0.005"),
    ("a short run on 2 local Dask workers (run it again to resume)",
     "pybrms simstudy examples/studies/glmm_coverage.toml --quick --reps 4 --workers 2 \\\n"
     "    --out glmm-quick"),
    ("the full study, each fit limited to 10 minutes",
     "pybrms simstudy examples/studies/glmm_coverage.toml --workers 2 --task-timeout 600"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms simstudy``."""
    p = add_command(
        subparsers, "simstudy",
        help="run a simulation study (data-generating mechanisms x conditions x methods), "
             "write estimates, performance measures with Monte Carlo SEs, figures, a summary",
        description="Draw every replicate of every condition from its own seed stream, fit "
                    "it with every method (checkpointed in OUT/fits: a killed study resumes), "
                    "locally or on Dask, and summarise the methods' performance: "
                    "OUT/estimates.csv, OUT/performance.csv (rsimsum's measures with Monte "
                    "Carlo standard errors), convergence, figures and a summary (Markdown, "
                    "HTML, LaTeX).",
        examples=EXAMPLES,
    )
    p.add_argument("study", help="study file (TOML)")
    add_out(p, "simstudy", existing=RESUMES)
    add_cluster_options(p)
    p.add_argument("--reps", type=int, default=None,
                   help="replicates per condition (default: the study file's)")
    p.add_argument("--quick", action="store_true", help="short chains (2 x 250 draws)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the study, print the fits, programs and replicates needed; stop")
    p.add_argument("--target-mcse", action="append", default=[], metavar="MEASURE=MCSE",
                   help="with --dry-run: replicates needed for this Monte Carlo SE "
                        "(coverage=0.005); repeatable")
    p.add_argument("--pilot", type=int, default=0, metavar="N",
                   help="with --dry-run: time N replicates of every condition and method "
                        "first (per-fit times; MCSEs for bias and the other measures)")
    p.add_argument("--keep-going", action="store_true",
                   help="record a failed fit as that method's failure on that replicate and "
                        "go on (exit status 1)")
    p.add_argument("--save-fits", action="store_true",
                   help="keep every brms fit's .rds beside its record")
    add_limit_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)
