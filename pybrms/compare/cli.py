"""``pybrms compare``: fit one formula with several engines and write the comparison.

Writes ``DIR/comparison.csv`` (the tidy schema plus agreement columns), ``DIR/comparison.md``,
``DIR/forest.png`` and ``DIR/provenance.json``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_write_text
from ..engines import ENGINES, get_engine
from ..errors import DataError, SpecError
from ..fitset import fit
from ..hashing import sha256_file
from ..plots.forest import forest_plot
from ..spec.formula import parse_formula
from ..spec.hypotheses import parse_hypothesis
from ..spec.priors import prior
from ..spec.validate import check_numeric_columns
from .table import compare

OUTPUT_FILES: tuple[str, ...] = ("comparison.csv", "comparison.md", "forest.png", "provenance.json")


def read_data_csv(path: str | Path, columns: set[str] | None = None) -> pd.DataFrame:
    """Read a CSV for a model, with errors that name the file, line and column.

    Parameters
    ----------
    path : str or Path
        The CSV file (first line: column names).
    columns : set of str, optional
        Columns the model uses: each must exist, have no empty cells, and, when most of its
        values are numbers, no stray non-numbers.

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        For a missing/unreadable file, a line with the wrong number of fields, a duplicate or
        empty column name, a missing column, an empty cell in a used column, or a non-numeric
        value in a numeric column; the message names file, line and column.

    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read data file {str(path)!r}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header: list[str] | None = None
            lines: list[int] = []
            records: list[list[str]] = []
            start = 1
            for record in reader:
                end = reader.line_num
                if not record or all(not f.strip() for f in record) and len(record) <= 1:
                    start = end + 1
                    continue
                if header is None:
                    header = [h.strip() for h in record]
                    for i, name in enumerate(header):
                        if not name:
                            raise DataError(f"{path}, line {start}: column {i + 1} has no name")
                        if name in header[:i]:
                            raise DataError(f"{path}, line {start}: column name {name!r} repeats")
                else:
                    if len(record) != len(header):
                        where = (
                            f"column {header[len(record)]!r} (no. {len(record) + 1}) is missing"
                            if len(record) < len(header)
                            else f"{len(record) - len(header)} field(s) after the last "
                            f"column {header[-1]!r}"
                        )
                        raise DataError(
                            f"{path}, line {start}: expected {len(header)} fields "
                            f"({', '.join(header)}), found {len(record)}: {where}"
                        )
                    records.append(record)
                    lines.append(start)
                start = end + 1
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read data file {str(path)!r}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from exc
    if header is None or not records:
        raise DataError(f"data file {str(path)!r} has no data rows")
    try:
        data = pd.read_csv(path, skip_blank_lines=True, encoding="utf-8-sig")
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot read data file {str(path)!r}: {exc}") from exc
    data.columns = [str(c).strip() for c in data.columns]
    if len(data) != len(lines):  # pandas and csv disagree (e.g. a line of only commas)
        lines = list(range(2, len(data) + 2))
    if columns:
        for col in sorted(columns):
            if col not in data.columns:
                raise DataError(
                    f"{path}: column {col!r} used in the formula is not in the file; "
                    f"its columns are: {', '.join(data.columns)}"
                )
            missing = data[col].isna().to_numpy().nonzero()[0]
            if len(missing):
                raise DataError(
                    f"{path}, line {lines[missing[0]]}, column {col!r}: empty value "
                    f"({len(missing)} empty cell(s) in {col!r}); fill or drop them first"
                )
        check_numeric_columns(data, sorted(columns), source=str(path), line_numbers=lines)
    return data


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


def run(args: argparse.Namespace) -> int:
    """Run ``pybrms compare``; returns the exit code."""
    t0 = time.perf_counter()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    parsed = parse_formula(args.formula)
    hypotheses = list(args.hypothesis or [])
    for h in hypotheses:
        parse_hypothesis(h)
    if not 0 < args.conf_level < 1:
        raise SpecError(f"--conf-level must be between 0 and 1, got {args.conf_level}")
    priors = [_parse_prior(p) for p in (args.prior or [])]
    data = read_data_csv(args.data, columns=parsed.variables)

    fits = fit(
        args.formula,
        data,
        family=args.family,
        engines=engines,
        **_options(args, engines, priors),
    )
    comparison = compare(fits, hypotheses or None, conf_level=args.conf_level, alpha=args.alpha)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    comparison.to_csv(out / "comparison.csv")
    (out / "comparison.md").write_text(comparison.to_markdown())
    import matplotlib.pyplot as plt

    fig = forest_plot(comparison.table, out / "forest.png")
    plt.close(fig)
    data_path = Path(args.data)
    provenance = {
        "pybrms": version("pybrms"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
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
    for name in OUTPUT_FILES:
        print(f"wrote {out / name}", file=sys.stderr)
    for engine, ws in fits.warnings.items():
        for w in ws:
            print(f"pybrms: warning: {engine}: {w}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms compare``."""
    p = subparsers.add_parser(
        "compare",
        help="fit one formula with brms, lme4 and statsmodels and compare them side by side",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("formula", help='brms formula, e.g. "y ~ x + (1 | g)"')
    p.add_argument("--data", required=True, help="CSV file with a header line")
    p.add_argument("--family", default="gaussian", help="brms family (default gaussian)")
    p.add_argument(
        "--engines",
        default="brms,lme4,statsmodels",
        help="comma-separated engines (default brms,lme4,statsmodels)",
    )
    p.add_argument(
        "--hypothesis",
        action="append",
        metavar="HYP",
        help='one-sided or two-sided brms hypothesis such as "x > 0" (repeatable)',
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--iter", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--cores", type=int, default=1)
    p.add_argument(
        "--prior",
        action="append",
        metavar="PRIOR",
        help="brms prior on class b, e.g. 'normal(0, 1e6)', or 'CLASS: DIST' (repeatable)",
    )
    p.add_argument("--conf-level", type=float, default=0.95, dest="conf_level")
    p.add_argument("--alpha", type=float, default=0.05, help="brms hypothesis() alpha")
    p.add_argument(
        "--lme4-fast",
        action="store_true",
        dest="lme4_fast",
        help='glmerControl(optimizer = "nloptwrap", calc.derivs = FALSE)',
    )
    p.add_argument("--nagq", type=int, default=None, help="glmer nAGQ")
    p.add_argument("--quiet", action="store_true", help="no progress or report on stdout")
    p.set_defaults(func=run)
