"""``pybrms compare``: fit one formula with several engines and write the comparison.

Writes ``DIR/comparison.csv`` (the tidy schema plus agreement columns), ``DIR/comparison.md``,
``DIR/forest.png`` and ``DIR/provenance.json``; with ``--draws`` also
``DIR/draws-ENGINE.csv`` for each engine that has posterior draws. The data file is read by
R's ``read.csv`` (:func:`pybrms.rread.read_csv_checked`), as an R script reads it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, atomic_write_text
from ..cliargs import REPLACES, add_command, add_out
from ..engines import ENGINES, capabilities, get_engine
from ..errors import EngineError, SpecError
from ..fitset import FitSet, fit
from ..hashing import sha256_file
from ..plots.forest import forest_plot
from ..rread import read_csv_checked
from ..spec.formula import parse_formula
from ..spec.hypotheses import parse_hypothesis
from ..spec.priors import prior
from .table import compare

OUTPUT_FILES: tuple[str, ...] = ("comparison.csv", "comparison.md", "forest.png", "provenance.json")
#: ``--out`` when not given: a folder named after the command
DEFAULT_OUT = "compare"


def _parse_prior(text: str) -> Any:
    cls, dist = "b", text.strip()
    head, sep, rest = dist.partition(":")
    if sep and "(" not in head:
        cls, dist = head.strip(), rest.strip()
    if not dist:
        raise SpecError(
            f"--prior {text!r}: write e.g. 'normal(0, 1e6)' or 'sd: student_t(3, 0, 2.5)'"
        )
    return prior(dist, class_=cls)


def _options(args: argparse.Namespace, engines: list[str], priors: list[Any]) -> dict[str, Any]:
    """The :func:`pybrms.fit` options the command line sets, each only where some chosen
    engine takes it (asked by capability, not by name).
    """
    engines = [e for e in engines if e in ENGINES]  # fit() names unknown engines itself
    modules = [get_engine(e) for e in engines]
    takes = {name for m in modules for name in m.options.names()}
    common = {"chains": args.chains, "iter": args.iter, "warmup": args.warmup,
              "seed": args.seed, "quiet": args.quiet}
    out: dict[str, Any] = {k: v for k, v in common.items() if k in takes}
    if priors and any(m.capabilities.uses_priors for m in modules):
        out["prior"] = priors
    own: dict[str, dict[str, Any]] = {}
    for e, m in zip(engines, modules, strict=True):
        wanted = {"cores": args.cores, "fast": args.lme4_fast, "nagq": args.nagq}
        picked = {k: v for k, v in wanted.items()
                  if k in m.options.names() and v not in (None, False)}
        if picked:
            own[e] = picked
    if own:
        out["engine_options"] = own
    return out


def _check_engines(engines: list[str]) -> None:
    """Unknown engine names are an error before the data are read (R need not start)."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        named = (f"unknown engine(s) {', '.join(map(repr, unknown))}" if unknown
                 else "no engine given")
        raise EngineError(f"{named}; available engines: {', '.join(ENGINES)}")


def write_draws(fits: FitSet, out: Path) -> list[Path]:
    """``OUT/draws-ENGINE.csv`` for each fit with posterior draws: every draw of every
    variable, ``.chain``, ``.iteration``, ``.draw``; doubles written with 17 significant
    digits, which R's ``read.csv`` and ``pandas.read_csv(path, float_precision="round_trip")``
    read back bit for bit (pandas' default parser misses the last bits of about a third of
    them; R's ``read.csv`` missed 3 in 100,000 of the shortest round-trip texts).
    """
    written = []
    for engine in fits.engines:
        if not capabilities(engine).draws:
            continue
        path = out / f"draws-{engine}.csv"
        with atomic_path(path) as tmp:
            fits[engine].draws().to_csv(tmp, index=False, float_format="%.17g")
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    """Run ``pybrms compare``; returns the exit code."""
    t0 = time.perf_counter()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    _check_engines(engines)
    parsed = parse_formula(args.formula)
    hypotheses = list(args.hypothesis or [])
    for h in hypotheses:
        parse_hypothesis(h)
    if not 0 < args.conf_level < 1:
        raise SpecError(f"--conf-level must be between 0 and 1, got {args.conf_level}")
    priors = [_parse_prior(p) for p in (args.prior or [])]
    data = read_csv_checked(args.data, columns=parsed.variables)

    fits = fit(
        args.formula,
        data,
        family=args.family,
        engines=engines,
        **_options(args, engines, priors),
    )
    comparison = compare(fits, hypotheses or None, conf_level=args.conf_level, alpha=args.alpha)

    out = Path(args.out)
    earlier = [n for n in OUTPUT_FILES if (out / n).exists()]
    if earlier:
        print(f"pybrms: replacing the outputs of an earlier run in {out}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    comparison.to_csv(out / "comparison.csv")
    (out / "comparison.md").write_text(comparison.to_markdown())
    import matplotlib.pyplot as plt

    fig = forest_plot(comparison.table, out / "forest.png")
    plt.close(fig)
    draws = write_draws(fits, out) if args.draws else []
    data_path = Path(args.data)
    provenance = {
        "pybrms": version("pybrms"),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "arguments": {k: v for k, v in vars(args).items() if k not in ("func", "command")},
        "formula": args.formula,
        "family": fits.family,
        "engines": engines,
        "hypotheses": hypotheses,
        "conf_level": args.conf_level,
        "alpha": args.alpha,
        "data": {
            "path": str(data_path),
            "sha256": sha256_file(data_path),
            "read_by": "R read.csv",
            "n_rows": int(len(data)),
            "columns": list(map(str, data.columns)),
        },
        "fits": fits.provenance,
        "warnings": fits.warnings,
        "timing_seconds": {**fits.timing_seconds, "total": round(time.perf_counter() - t0, 3)},
    }
    atomic_write_text(out / "provenance.json", json.dumps(provenance, indent=1, default=str))
    if not args.quiet:
        print(comparison.to_markdown())
    for path in [out / name for name in OUTPUT_FILES] + draws:
        print(f"wrote {path}", file=sys.stderr)
    for engine, ws in fits.warnings.items():
        for w in ws:
            print(f"pybrms: warning: {engine}: {w}", file=sys.stderr)
    return 0


EPILEPSY = "count ~ zAge + zBase * Trt + (1 | patient)"
EXAMPLES = (
    ("brms's epilepsy data written by R; brms, lme4 and statsmodels on it, into ./compare",
     "Rscript -e 'write.csv(brms::epilepsy, \"epilepsy.csv\", row.names = FALSE)'\n"
     f'pybrms compare "{EPILEPSY}" --data epilepsy.csv --family poisson'),
    ("brms and lme4, a hypothesis, flat priors on b, short chains, the draws too, into results/",
     f'pybrms compare "{EPILEPSY}" --data epilepsy.csv --family poisson \\\n'
     '    --engines brms,lme4 --hypothesis "zBase > 0" --prior "normal(0, 1e6)" \\\n'
     '    --chains 2 --iter 1000 --seed 1 --draws --out results'),
    ("lme4 alone with glmer's faster optimizer settings: seconds, no Stan",
     f'pybrms compare "{EPILEPSY}" --data epilepsy.csv --family poisson \\\n'
     '    --engines lme4 --lme4-fast --out epilepsy-lme4'),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms compare``."""
    p = add_command(
        subparsers, "compare",
        help="fit one formula with brms, lme4 and statsmodels and compare them side by side",
        description="Fit one brms formula with several engines (brms, lme4, statsmodels; fast "
                    "when asked) and write OUT/comparison.csv (one tidy row per engine and "
                    "term, with agreement columns), OUT/comparison.md, OUT/forest.png and "
                    "OUT/provenance.json; --draws adds OUT/draws-ENGINE.csv. The CSV file is "
                    "read by R's read.csv, as an R script reads it, so brms sees the same "
                    "numbers (and draws the same chains) as a plain Rscript brm() call.",
        examples=EXAMPLES,
    )
    p.add_argument("formula", help='brms formula, e.g. "y ~ x + (1 | g)"')
    p.add_argument("--data", required=True, metavar="CSV",
                   help="CSV file with a header line, read by R's read.csv")
    p.add_argument("--family", default="gaussian",
                   help="brms family, e.g. bernoulli, poisson, binomial (default gaussian)")
    p.add_argument("--engines", default="brms,lme4,statsmodels",
                   help=f"comma-separated, from {','.join(ENGINES)} "
                        "(default brms,lme4,statsmodels)")
    p.add_argument("--hypothesis", action="append", metavar="HYP",
                   help='brms hypothesis such as "x > 0" (one-sided) or "x = 0" (two-sided); '
                        "repeatable")
    add_out(p, DEFAULT_OUT, existing=REPLACES)
    p.add_argument("--draws", action="store_true",
                   help="also write OUT/draws-ENGINE.csv: every posterior draw of each engine "
                        "that has draws (brms, fast), to full precision")
    p.add_argument("--chains", type=int, default=4, metavar="N", help="MCMC chains (default 4)")
    p.add_argument("--iter", type=int, default=2000, metavar="N",
                   help="iterations per chain, warm-up included (default 2000)")
    p.add_argument("--warmup", type=int, default=None, metavar="N",
                   help="warm-up iterations per chain (default half of --iter)")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed; the same seed gives the same draws (default: a random "
                        "one, recorded in OUT/provenance.json)")
    p.add_argument("--cores", type=int, default=1, metavar="N",
                   help="chains run in parallel (default 1)")
    p.add_argument("--prior", action="append", metavar="PRIOR",
                   help="brms prior on class b, e.g. 'normal(0, 1e6)', or 'CLASS: DIST' such "
                        "as 'sd: student_t(3, 0, 2.5)'; repeatable (default: brms's priors)")
    p.add_argument("--conf-level", type=float, default=0.95, dest="conf_level", metavar="LEVEL",
                   help="level of the intervals in the table (default 0.95)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="brms hypothesis() alpha: one-sided tests use a 1 - 2 alpha interval "
                        "(default 0.05)")
    p.add_argument("--lme4-fast", action="store_true", dest="lme4_fast",
                   help='lme4: glmerControl(optimizer = "nloptwrap", calc.derivs = FALSE)')
    p.add_argument("--nagq", type=int, default=None, metavar="N",
                   help="lme4: glmer's nAGQ, adaptive Gauss-Hermite points (default 1, Laplace)")
    p.add_argument("--quiet", action="store_true",
                   help="no sampler progress and no table on stdout")
    p.set_defaults(func=run)
