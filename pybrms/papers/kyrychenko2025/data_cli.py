"""Sub-commands ``pybrms prism download``, ``pybrms score`` and ``pybrms simulate prism``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from ...atomic import atomic_path
from ...cliargs import REPLACES, add_command, add_commands, add_out
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
    out = Path(args.out) if args.out else (  # DATA/scores.parquet: where replicate looks
        Path(args.data) / "scores.parquet" if args.data and not args.import_file
        else Path("scores.parquet"))
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
    prism = add_command(
        subparsers, "prism", help="PRISM dataset utilities",
        description="The PRISM alignment dataset (Kirk et al. 2024) that Kyrychenko et al. "
                    "(2025) analyse: download its four files.",
        examples=[("download the four files into ./prism", "pybrms prism download")],
    )
    psub = add_commands(prism, "prism_command")
    dl = add_command(
        psub, "download", help="download the four PRISM files (resumable, checked)",
        description="Download the four PRISM files (conversations, survey, utterances, "
                    "metadata), check each one's SHA-256 (against --checksums, else the sum "
                    "the server sends) and record the sums in OUT/SHA256SUMS. An interrupted "
                    "transfer resumes where it stopped; a complete file is kept.",
        examples=[("the JSONL files from Hugging Face into ./prism", "pybrms prism download"),
                  ("parquet files from a mirror, into data/prism",
                   "pybrms prism download --format parquet --base-url "
                   "https://mirror.example.org/prism --out data/prism")],
    )
    add_out(dl, "prism", existing="complete files there are kept (--force downloads "
                                  "them again)")
    dl.add_argument("--base-url", default=None, metavar="URL",
                    help="where the files live (default $PYBRMS_PRISM_URL or Hugging Face)")
    dl.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl",
                    help="file format to fetch (default jsonl)")
    dl.add_argument("--checksums", default=None, metavar="FILE",
                    help="sha256sum-style file of expected sums (default: the server's)")
    dl.add_argument("--force", action="store_true", help="download even if complete")
    dl.set_defaults(func=_prism_download)

    sc = add_command(
        subparsers, "score", help="score PRISM texts with Perspective API (cached)",
        description="Score the paper's texts (first prompts and first-turn responses) with "
                    "Google's Perspective API, one cached request per text (an interrupted "
                    "run resumes from the cache), and write the scores as parquet. Needs "
                    "PERSPECTIVE_API_KEY. Or --import scores made elsewhere.",
        examples=[("score the texts of ./prism into prism/scores.parquet, where pybrms "
                   "replicate looks for them",
                   "PERSPECTIVE_API_KEY=... pybrms score --data prism"),
                  ("import scores computed elsewhere (a CSV with a text column)",
                   "pybrms score --import my-scores.csv --text-column text "
                   "--scorer-name perspective-2024 --out prism/scores.parquet")],
    )
    sc.add_argument("--data", default=None, metavar="DIR", help="folder with the PRISM files")
    add_out(sc, None, what="scores parquet file", existing="an earlier file is replaced",
            default_text="DATA/scores.parquet; ./scores.parquet with --import")
    sc.add_argument("--endpoint", default=None, metavar="URL",
                    help="full comments:analyze URL (default $PERSPECTIVE_API_URL or Google)")
    sc.add_argument("--qps", type=float, default=1.0, help="queries per second (default 1)")
    sc.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                    help="seconds per request (default 30)")
    sc.add_argument("--cache", default=None, metavar="FILE",
                    help="SQLite cache of every answer (default OUT.cache.sqlite)")
    sc.add_argument("--missing", choices=("error", "drop"), default="error",
                    help="utterances without survey/metadata rows: fail (default) or drop and "
                         "count")
    sc.add_argument("--import", dest="import_file", default=None, metavar="FILE",
                    help="import an already-scored CSV/parquet instead of calling the API")
    sc.add_argument("--text-column", default=None, metavar="NAME",
                    help="text column of --import")
    sc.add_argument("--scorer-name", default=None, metavar="NAME",
                    help="origin recorded for --import (default imported)")
    sc.set_defaults(func=_score)

    sim = add_command(
        subparsers, "simulate", help="simulate datasets with known truth",
        description="Simulate datasets whose true parameters are known, for recovery checks.",
        examples=[("a PRISM-shaped dataset at 5% of the paper's size",
                   "pybrms simulate prism --seed 1 --scale 0.05")],
    )
    ssub = add_commands(sim, "simulate_command")
    sp = add_command(
        ssub, "prism", help="a PRISM-shaped dataset from the paper's estimates",
        description="Simulate the four PRISM files, a scores file and truth.json from the "
                    "paper's published estimates: users, conversations and models as in "
                    "PRISM, choices drawn from the paper's model. The folder then serves as "
                    "--data for pybrms replicate.",
        examples=[("the paper's counts, then the whole replication on them",
                   "pybrms simulate prism --seed 1 --out simulated-prism\n"
                   "pybrms replicate --data simulated-prism"),
                  ("5% of the size, every response with the same slopes (recovery checks)",
                   "pybrms simulate prism --seed 2 --scale 0.05 --slopes homogeneous "
                   "--out sim-small")],
    )
    add_out(sp, "simulated-prism", existing=REPLACES)
    sp.add_argument("--seed", type=int, required=True, metavar="N",
                    help="random seed (required: the same seed gives the same data)")
    sp.add_argument("--scale", type=float, default=1.0,
                    help="1.0 = the paper's counts (default 1.0)")
    sp.add_argument("--format", choices=("jsonl", "jsonl.gz", "parquet"), default="jsonl",
                    help="file format of the four PRISM files (default jsonl)")
    sp.add_argument("--slopes", choices=("paper", "homogeneous"), default="paper",
                    help="homogeneous: Table 2b 'all' slopes for every response (recovery "
                         "checks); default paper")
    sp.add_argument("--reasoning-nuance", choices=("mean", "product"), default="mean",
                    help="construction of REASONING_NUANCE in the true model (default mean)")
    sp.set_defaults(func=_simulate)
