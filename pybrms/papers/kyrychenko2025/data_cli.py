"""Sub-commands ``pybrms prism download``, ``pybrms score`` and ``pybrms simulate prism``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from ...atomic import atomic_path
from ...errors import DataError
from .download import main_download
from .prism import first_turn_responses, load_prism
from .scoring import run as scoring_run
from .scoring.base import text_sha256
from .scoring.cache import ScoreCache
from .scoring.importer import import_scores
from .scoring.perspective import PerspectiveScorer
from .simulate import simulate_prism


def _prism_download(args: argparse.Namespace) -> int:
    return main_download(args.out, args.base_url, args.format, args.checksums, args.force)


def _atomic_parquet(df, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def texts_to_score(data_dir: str | os.PathLike, missing: str = "error") -> list[str]:
    """The paper's scored texts: first prompts and first-turn responses (English, non-empty).

    Parameters
    ----------
    data_dir : path
        Folder with the four PRISM files.
    missing : {"error", "drop"}
        Passed to :func:`pybrms.papers.kyrychenko2025.prism.first_turn_responses`.

    Returns
    -------
    list of str
        Distinct texts, prompts first.
    """
    frame, _ = first_turn_responses(load_prism(data_dir), missing=missing)
    texts = list(dict.fromkeys([*frame["user_prompt"], *frame["model_response"]]))
    return texts


def _score(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.import_file:
        scores = import_scores(args.import_file, text_column=args.text_column,
                               scorer=args.scorer_name or "imported")
        _atomic_parquet(scores, out)
        print(f"imported {len(scores)} scored texts from {args.import_file} -> {out}",
              file=sys.stderr)
        return 0
    if not args.data:
        raise DataError("pybrms score needs --data DIR (PRISM files) or --import FILE")

    texts = texts_to_score(args.data, missing=args.missing)
    scorer = PerspectiveScorer(args.endpoint, qps=args.qps, timeout=args.timeout)
    cache_path = Path(args.cache) if args.cache else out.with_name(out.name + ".cache.sqlite")
    with ScoreCache(cache_path) as cache:
        try:
            summary = scoring_run.score_texts(texts, scorer, cache)
        except KeyboardInterrupt:
            print(f"interrupted: {len(cache)} results are saved in {cache_path}; run the same "
                  f"command again to resume", file=sys.stderr)
            return 130
        frame = cache.to_frame(scorer.attribute_set)
    wanted = {text_sha256(t) for t in texts}
    frame = frame[frame["text_sha256"].isin(wanted)].reset_index(drop=True)
    _atomic_parquet(pd.DataFrame(frame), out)
    print(f"scored {summary.scored} new, {summary.cached} cached, {summary.errors} refused "
          f"(400) of {summary.total} texts -> {out} (cache {cache_path})", file=sys.stderr)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    res = simulate_prism(args.out, seed=args.seed, scale=args.scale,
                         reasoning_nuance=args.reasoning_nuance, fmt=args.format,
                         slopes=args.slopes)
    c = res.counts
    print(f"simulated PRISM at scale {args.scale} (seed {args.seed}) in {res.seconds:.1f}s: "
          f"{c['english_users']} English users, {c['english_conversations']} English "
          f"conversations, {c['utterances']} utterances -> {res.out}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prism``, ``score`` and ``simulate`` to the ``pybrms`` command.

    Parameters
    ----------
    subparsers : argparse sub-parsers action
        From ``parser.add_subparsers()``; each added parser sets ``func(args) -> int``.
    """
    prism = subparsers.add_parser("prism", help="PRISM dataset utilities")
    psub = prism.add_subparsers(dest="prism_command", required=True)
    dl = psub.add_parser("download", help="download the four PRISM files (resumable, checked)")
    dl.add_argument("--out", required=True, help="destination folder")
    dl.add_argument("--base-url", default=None,
                    help="where the files live (default $PYBRMS_PRISM_URL or Hugging Face)")
    dl.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    dl.add_argument("--checksums", default=None, help="sha256sum-style file of expected sums")
    dl.add_argument("--force", action="store_true", help="download even if complete")
    dl.set_defaults(func=_prism_download)

    sc = subparsers.add_parser("score", help="score PRISM texts with Perspective API (cached)")
    sc.add_argument("--data", default=None, help="folder with the PRISM files")
    sc.add_argument("--out", required=True, help="scores parquet file to write")
    sc.add_argument("--endpoint", default=None,
                    help="full comments:analyze URL (default $PERSPECTIVE_API_URL or Google)")
    sc.add_argument("--qps", type=float, default=1.0, help="queries per second (default 1)")
    sc.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    sc.add_argument("--cache", default=None, help="SQLite cache (default OUT.cache.sqlite)")
    sc.add_argument("--missing", choices=("error", "drop"), default="error",
                    help="utterances without survey/metadata rows: fail or drop and count")
    sc.add_argument("--import", dest="import_file", default=None,
                    help="import an already-scored CSV/parquet instead of calling the API")
    sc.add_argument("--text-column", default=None, help="text column of --import")
    sc.add_argument("--scorer-name", default=None, help="origin recorded for --import")
    sc.set_defaults(func=_score)

    sim = subparsers.add_parser("simulate", help="simulate datasets with known truth")
    ssub = sim.add_subparsers(dest="simulate_command", required=True)
    sp = ssub.add_parser("prism", help="a PRISM-shaped dataset from the paper's estimates")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--scale", type=float, default=1.0, help="1.0 = the paper's counts")
    sp.add_argument("--format", choices=("jsonl", "jsonl.gz", "parquet"), default="jsonl")
    sp.add_argument("--slopes", choices=("paper", "homogeneous"), default="paper",
                    help="homogeneous: Table 2b 'all' slopes for every response (recovery checks)")
    sp.add_argument("--reasoning-nuance", choices=("mean", "product"), default="mean",
                    help="construction of REASONING_NUANCE in the true model")
    sp.set_defaults(func=_simulate)
