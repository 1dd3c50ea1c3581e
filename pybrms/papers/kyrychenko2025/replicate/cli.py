"""``pybrms replicate``: every model of the paper, its tables and figures, in one command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ....cliargs import RESUMES, add_command, add_out
from ....engines import ENGINES, capabilities
from ....errors import SpecError
from ....runs.options import add_cluster_options, add_limit_options, limits_from, print_failures
from ..prism import bundled_path
from .checks import check_plan
from .plan import build_plan
from .runner import run as run_plan

#: ``--demo``: the headline models on the bundled simulated data, both engines, short chains.
DEMO = {"analyses": "1a,1b", "engines": "brms,lme4", "convo_types": ["all"], "quick": True}


def run(args: argparse.Namespace) -> int:
    """Plan, fit (resuming checkpoints) and report; prints where the report is."""
    analyses, engines, convo, quick = args.analyses, args.engines, args.convo_types, args.quick
    rn = args.reasoning_nuance
    data = args.data
    if args.demo:
        if data is not None:
            raise SpecError("--demo uses the bundled simulated data; drop --data")
        data = bundled_path()
        analyses = analyses or DEMO["analyses"]
        engines = engines or DEMO["engines"]
        convo = convo or ",".join(DEMO["convo_types"])
        quick = True
        if rn is None:
            # the bundled data were simulated with this construction (truth.json says so)
            rn = json.loads((Path(data) / "truth.json").read_text())["reasoning_nuance"]
    if data is None:
        raise SpecError("--data is required (a folder with the PRISM files and scores.parquet), "
                        "or use --demo")
    out = Path(args.out) if args.out else Path("replication-demo" if args.demo else "replication")
    plan = build_plan(analyses, engines, quick=quick,
                      convo_types=[c.strip() for c in convo.split(",")] if convo else None,
                      reasoning_nuance=rn, ties=args.ties)
    if args.demo:
        plan.deviations.append("--demo: bundled simulated data (scale 0.05), headline models only")
    if args.dry_run:
        for u in plan.units:
            also = [m.name for m in u.aliases[1:]]
            draws = f"  ({u.model.chains} x {u.model.draws} draws)" if capabilities(u.engine).sampler else ""
            print(f"{u.name}{draws}"
                  + (f"  also reported as {', '.join(also)}" if also else ""))
        print(f"{len(plan.units)} fits; deviations: {plan.deviations or 'none'}", flush=True)
        check = check_plan(plan, data, scores=args.scores)  # every problem at once: exit 2
        built = ", ".join(f"{e} {n}" for e, n in check.checked.structures.items())
        print(f"checked without fitting: data in {data}, {check.units} unit(s), each model "
              f"structure once ({built}; brms: its build step and Stan's parser, no "
              f"compile), hypotheses' parameters; {check.checked.seconds:.1f} s")
        return 0
    result = run_plan(plan, data, out, scores=args.scores, cores=args.cores, quiet=args.quiet,
                      keep_going=args.keep_going, workers=args.workers, scheduler=args.scheduler,
                      limits=limits_from(args))
    print(f"report: {result.report['html']}")
    print(f"        {result.report['md']}")
    print(f"tables: {out / 'tables'}   figures: {out / 'figures'}")
    print(f"fits: {len(result.fitted)} fitted, {len(result.resumed)} resumed; Stan programs: "
          f"{len(result.programs)} distinct, {len(result.compiled)} compiled in this run",
          file=sys.stdout)
    print_failures(result.failed)
    if result.failed:
        print(f"{len(result.failed)} fit(s) failed (see the report); run the same command again "
              "to retry them: finished fits resume from their checkpoints", file=sys.stderr)
        return 1
    return 0


EXAMPLES = (
    ("the headline models on the bundled simulated data, short chains, into ./replication-demo",
     "pybrms replicate --demo"),
    ("every model of the paper on the real data (hours; run it again to resume)",
     "pybrms prism download --out prism\n"
     "pybrms score --data prism\n"
     "pybrms replicate --data prism --out replication"),
    ("list what a full replication would fit, and stop",
     "pybrms replicate --data prism --dry-run"),
    ("Analysis 1b with lme4 only, on 2 local Dask workers",
     "pybrms replicate --data prism --analyses 1b --engines lme4 --workers 2"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms replicate``."""
    p = add_command(
        subparsers, "replicate",
        help="run the paper's models and write Tables 2-4, figures and a report",
        description="Fit every model of Kyrychenko et al. (2025) as the specs in comparisons/ "
                    "say, with checkpoints (a killed run resumes) and a compile cache, and write "
                    "OUT/report.html, OUT/report.md, OUT/tables and OUT/figures.",
        examples=EXAMPLES,
    )
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder with the PRISM files and scores.parquet (pybrms prism "
                        "download, pybrms score); or use --demo")
    p.add_argument("--scores", default=None, metavar="FILE",
                   help="scores table (default DATA/scores.parquet)")
    add_out(p, None, existing=RESUMES,
            default_text="./replication; ./replication-demo with --demo")
    p.add_argument("--analyses", default=None,
                   help="comma-separated: 1a,1b,interaction,2,3,supplement (default all)")
    p.add_argument("--engines", default=None,
                   help=f"comma-separated, from {','.join(ENGINES)} (default brms,lme4; "
                        "fast only after pybrms.verify against brms)")
    p.add_argument("--convo-types", default=None,
                   help="only these conversation types: all,unguided,values guided,"
                        "controversy guided")
    p.add_argument("--quick", action="store_true",
                   help="4 chains x 250 draws after 250 warm-up (recorded as a deviation)")
    p.add_argument("--demo", action="store_true",
                   help="bundled simulated data, 1a and 1b on all conversations, brms and lme4, "
                        "short chains")
    p.add_argument("--reasoning-nuance", choices=("product", "mean"), default=None,
                   help="override the specs' REASONING_NUANCE construction")
    p.add_argument("--ties", choices=("all", "first", "drop"), default=None,
                   help="override the specs' rule for ties at the highest score")
    p.add_argument("--cores", type=int, default=None, metavar="N",
                   help="parallel chains (default 2-4)")
    add_cluster_options(
        p, workers_help="fit the units on a local Dask cluster of N single-threaded worker "
                        "processes (each unit's chains in sequence unless --cores is given)",
        scheduler_help="fit the units on a running Dask cluster (tcp://host:8786; workers "
                       "started with --nthreads 1, OUT and PYBRMS_CACHE_DIR shared)")
    add_limit_options(p)
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--keep-going", action="store_true",
                   help="when a fit fails, report it and go on with the others (exit status 1); "
                        "by default the first failure stops the run")
    p.set_defaults(func=run)
