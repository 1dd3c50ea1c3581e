"""Benchmark: the fast engine against brms on simulated PRISM data, Analyses 1a and 1b.

Both engines fit the same model (the paper's formula, family and priors from
``pybrms/comparisons/analysis_1a.toml`` / ``1b.toml``: ``normal(0, 1e6)`` on ``b``, brms's
defaults elsewhere) on the same data with the same chains, warm-up and draws. Every fit runs
in its own child process (a fresh compile cache for brms, so its compile is measured; peak
memory is that process's and its children's, the C++ compiler included). Reported per model
and engine: wall time, compile time, sampling time, minimum and median bulk ESS per second of
sampling over the slopes (``b_`` except the intercept) and over the group SDs (``sd_``), peak
memory, and :func:`pybrms.verify`'s agreement (fast vs brms: |z| of the difference in means in
combined MCSEs, SD ratios).

Usage::

    python benchmarks/fast_engine.py --out fast-bench [--scale 0.2] [--conversations N]
        [--chains 2 --warmup 500 --draws 500] [--analyses 1a,1b] [--engines brms,fast]

``--scale 1`` is the paper's size (29,020 rows, 7,960 conversations, 1,389 users): brms needs
30-45 min per model there on 2 cores. ``--conversations N`` keeps the first N conversations of
the simulated data (after ``--scale``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve()


def _data(out: Path, scale: float, conversations: int | None, seed: int) -> dict[str, Path]:
    """Simulate PRISM at ``scale`` and write the 1a and 1b frames as parquet."""
    from pybrms.papers.kyrychenko2025.frames import build_frames
    from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
    from pybrms.papers.kyrychenko2025.replicate.runner import unit_data
    from pybrms.papers.kyrychenko2025.simulate import simulate_prism

    sim = out / "data"
    if not (sim / "truth.json").exists():
        simulate_prism(sim, seed=seed, scale=scale, reasoning_nuance="product")
    plan = build_plan(["1a", "1b"], ["brms"], convo_types=["all"], reasoning_nuance="product")
    frames = build_frames(sim, sim / "scores.parquet", **plan.frame_options)
    paths = {}
    for analysis in ("1a", "1b"):
        unit = plan.unit_of(f"{analysis}_all", "brms")
        df = unit_data(frames, unit)
        if conversations is not None:
            keep = list(dict.fromkeys(df["conversation_id"]))[:conversations]
            df = df[df["conversation_id"].isin(keep)].reset_index(drop=True)
        path = out / f"frame_{analysis}.parquet"
        df.to_parquet(path)
        spec = {"formula": unit.model.formula, "family": unit.model.family,
                "priors": [p.to_dict() for p in unit.model.priors]}
        (out / f"model_{analysis}.json").write_text(json.dumps(spec))
        paths[analysis] = path
    return paths


def _peak_mb() -> float:
    """Peak resident memory of this process and of its waited-for children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def worker(args: argparse.Namespace) -> None:
    """Fit one model with one engine; write draws (parquet) and a JSON record."""
    import pybrms
    from pybrms.engines import get_engine
    from pybrms.spec.model import FitSpec

    out = Path(args.out)
    spec_d = json.loads((out / f"model_{args.analysis}.json").read_text())
    df = pd.read_parquet(out / f"frame_{args.analysis}.parquet")
    priors = [pybrms.prior(p["prior"], class_=p["class_"], coef=p["coef"], group=p["group"])
              for p in spec_d["priors"]]
    spec = FitSpec.build(spec_d["formula"], df, spec_d["family"], priors)
    engine = get_engine(args.engine)
    common = {"chains": args.chains, "iter": args.warmup + args.draws, "warmup": args.warmup,
              "seed": args.seed, "quiet": True}
    extra = {"cores": args.cores}
    if args.engine == "brms":
        extra["diagnose"] = False
    opts = engine.options.build({**common, **extra})
    t0 = time.perf_counter()
    fit = engine.fit(spec, opts)
    wall = time.perf_counter() - t0
    timing = fit.provenance["timing_seconds"]
    summ = fit.summary()
    sample_s = float(timing["sample"])
    draws = fit.draws()
    if args.engine == "brms":
        compile_s = float(timing["total"] - timing["build"] - timing["sample"])
        steps = float(fit.sampler_params()["n_leapfrog__"].mean())
    else:
        compile_s = float(timing["compile"])
        steps = float(np.mean(fit.sample_stats["n_steps"]))

    keep = [c for c in draws.columns if c.startswith(("b_", "sd_", "cor_", ".")) or c == "sigma"]
    draws.loc[:, keep].to_parquet(out / f"draws_{args.analysis}_{args.engine}.parquet")
    summ = summ[summ["variable"].str.startswith(("b_", "sd_")) | (summ["variable"] == "sigma")]
    record = {
        "analysis": args.analysis, "engine": args.engine, "rows": len(df),
        "conversations": int(df["conversation_id"].nunique()),
        "users": int(df["user_id"].nunique()), "wall_s": round(wall, 1),
        "compile_s": round(compile_s, 1), "sample_s": round(sample_s, 1),
        "peak_mb": round(_peak_mb(), 0),
        # post-warm-up leapfrog steps per draw (warm-up trees are not in either engine's stats)
        "leapfrog_per_draw": round(steps, 1),
        "ess_bulk": {r.variable: float(r.ess_bulk) for r in summ.itertuples()},
        "mean": {r.variable: float(r.mean) for r in summ.itertuples()},
        "warnings": fit.warnings,
    }
    (out / f"record_{args.analysis}_{args.engine}.json").write_text(json.dumps(record, indent=1))


class _Draws:
    """A saved fit's draws, for :func:`pybrms.verify`."""

    def __init__(self, path: Path, engine: str) -> None:
        self._d = pd.read_parquet(path)
        self.engine = engine

    def draws(self) -> pd.DataFrame:
        return self._d


def _ess_rates(rec: dict) -> dict[str, float]:
    ess = rec["ess_bulk"]
    slopes = [v for k, v in ess.items() if k.startswith("b_") and k != "b_Intercept"]
    sds = [v for k, v in ess.items() if k.startswith("sd_")]
    s = rec["sample_s"]
    return {"slope_min": min(slopes) / s, "slope_median": float(np.median(slopes)) / s,
            "sd_min": min(sds) / s, "sd_median": float(np.median(sds)) / s}


def report(out: Path, analyses: list[str], engines: list[str]) -> str:
    """The table (markdown) and ratios, from the records in ``out``."""
    import pybrms

    lines = ["| model | engine | rows | conv. | wall s | compile s | sampling s | "
             "slope ESS/s min / median | SD ESS/s min / median | peak MB | "
             "leapfrog/draw |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for a in analyses:
        recs = {}
        for e in engines:
            p = out / f"record_{a}_{e}.json"
            if p.exists():
                recs[e] = json.loads(p.read_text())
        for e, r in recs.items():
            q = _ess_rates(r)
            lines.append(
                f"| {a} | {e} | {r['rows']} | {r['conversations']} | {r['wall_s']:.0f} | "
                f"{r['compile_s']:.0f} | {r['sample_s']:.0f} | {q['slope_min']:.2f} / "
                f"{q['slope_median']:.2f} | {q['sd_min']:.2f} / {q['sd_median']:.2f} | "
                f"{r['peak_mb']:.0f} | {r.get('leapfrog_per_draw', float('nan')):.1f} |")
        if "brms" in recs and "fast" in recs:
            qb, qf = _ess_rates(recs["brms"]), _ess_rates(recs["fast"])
            v = pybrms.verify(_Draws(out / f"draws_{a}_fast.parquet", "fast"),
                              _Draws(out / f"draws_{a}_brms.parquet", "brms"))
            slopes = v.table[v.table["parameter"].str.startswith("b_")
                             & (v.table["parameter"] != "b_Intercept")]
            ratios.append(
                f"{a}: slope ESS/s fast/brms min {qf['slope_min'] / qb['slope_min']:.1f}x, "
                f"median {qf['slope_median'] / qb['slope_median']:.1f}x; SD ESS/s min "
                f"{qf['sd_min'] / qb['sd_min']:.1f}x; wall {recs['brms']['wall_s'] / recs['fast']['wall_s']:.1f}x "
                f"faster; slopes within 3 MCSE: {int((slopes['z'].abs() <= 3).sum())}/{len(slopes)} "
                f"(max |z| {slopes['z'].abs().max():.2f}); verify: {v.verdict}")
            (out / f"verify_{a}.csv").write_text(v.table.to_csv(index=False))
    return "\n".join(lines) + "\n\n" + "\n".join(ratios) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="fast-bench")
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--conversations", type=int, default=None)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--analyses", default="1a,1b")
    ap.add_argument("--engines", default="fast,brms")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--analysis", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    analyses = [a.strip() for a in args.analyses.split(",") if a.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    t0 = time.perf_counter()
    _data(out, args.scale, args.conversations, args.seed)
    print(f"data: scale {args.scale}, conversations {args.conversations or 'all'} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    for a in analyses:
        for e in engines:
            if (out / f"record_{a}_{e}.json").exists():
                continue
            env = dict(os.environ)
            env["PYBRMS_CACHE_DIR"] = tempfile.mkdtemp(prefix="fast-bench-cache-")
            cmd = [sys.executable, str(HERE), "--worker", "--out", str(out), "--analysis", a,
                   "--engine", e, "--chains", str(args.chains), "--warmup", str(args.warmup),
                   "--draws", str(args.draws), "--cores", str(args.cores),
                   "--seed", str(args.seed)]
            t1 = time.perf_counter()
            rc = subprocess.run(cmd, env=env).returncode
            print(f"{a} {e}: exit {rc} after {time.perf_counter() - t1:.0f} s", flush=True)
            if rc:
                return rc
    text = (f"scale {args.scale}, conversations {args.conversations or 'all'}, "
            f"{args.chains} chains x ({args.warmup} warm-up + {args.draws} draws), "
            f"cores {args.cores}\n\n" + report(out, analyses, engines))
    (out / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
