"""What Dask buys a sensitivity grid: the same grid on 1 and on 2 local workers, one invocation.

Run: .venv/bin/python benchmarks/sensitivity_dask.py [--out DIR] [--chains 4] [--iter 3000]
     (``make bench-sensitivity``)

The grid: lme4's cbpp data (examples/grids/cbpp.csv), the overdispersed binomial GLMM
``incidence | trials(size) ~ period + (1 | herd) + (1 | obs)``, a prior axis of four
``normal(0, s)`` priors on b (s = 0.5, 1, 2, 5) times a data axis (all herds; without herd 1):
8 brms cells, each with its lme4 twin (16 tasks). The priors differ only in their constants,
which reach Stan as data, so the 8 brms cells need one Stan program.

Steps, in one process and one machine state:

1. compile the program once, in this process, into a fresh compile cache (timed apart);
2. run the grid on a LocalCluster of 1 worker, then of 2 (fresh output folders; both clusters
   start their worker processes, and each worker its R, inside the timing);
3. check that the brms estimates of the two runs are identical, and print the wall times,
   the speed-up and the compiles-to-cells ratio (also written to ``OUT/benchmark.json``),
   beside the speed-up two plain CPU-bound processes get on the machine just before and after
   (2.0 on two idle cores): a shared machine caps what two workers can gain.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CBPP = ROOT / "examples" / "grids" / "cbpp.csv"
SCALES = ("0.5", "1", "2", "5")


def grid(chains: int, iter_: int) -> dict:
    """The benchmark grid (8 brms cells + 8 lme4 twins)."""
    return {
        "base": {"data": str(CBPP),
                 "formula": "incidence | trials(size) ~ period + (1 | herd) + (1 | obs)",
                 "family": "binomial", "prior": [{"prior": "normal(0, 5)", "class": "b"}],
                 "chains": chains, "iter": iter_, "warmup": iter_ // 2, "seed": 101,
                 "engines": ["brms", "lme4"], "focus": ["periodP2", "periodP4"]},
        "axes": {
            "prior": {f"normal_0_{s}": {"prior": [{"prior": f"normal(0, {s})", "class": "b"}]}
                      for s in SCALES},
            "herds": {"all": {}, "without_herd_1": {"filter": "herd != 1"}},
        },
    }


def _spin(n: int = 20_000_000) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def machine_parallelism() -> float:
    """The speed-up two CPU-bound processes get here now over running one after the other
    (2.0 on two idle cores; less when other work shares the machine): the ceiling of any
    2-worker speed-up measured at the same time."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as ex:
        ex.submit(_spin, 1000).result()  # start both processes first
        one = ex.submit(_spin).result()
        t0 = time.perf_counter()
        list(ex.map(_spin, [20_000_000, 20_000_000]))
        both = time.perf_counter() - t0
    return round(2 * one / both, 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="sensitivity-benchmark")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--iter", type=int, default=3000)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="pybrms-bench-cache-"))
    os.environ["PYBRMS_CACHE_DIR"] = str(cache)  # inherited by the worker processes

    import pybrms
    from pybrms.sensitivity import parse_grid

    table = grid(args.chains, args.iter)
    cells = parse_grid(table).cells()
    # 1. one compile, timed apart: the first cell, here, with the shortest sampling
    warm = json.loads(json.dumps(table))
    warm["axes"] = {}
    warm["base"].update(iter=20, warmup=10, chains=1, engines=["brms"])
    t0 = time.perf_counter()
    first = pybrms.sensitivity(warm, out / "compile", quiet=True, power_scaling=False)
    compile_s = time.perf_counter() - t0
    ceiling = [machine_parallelism()]
    runs = {}
    programs_seen = set(first.programs)
    for n in (1, 2):
        t0 = time.perf_counter()
        res = pybrms.sensitivity(table, out / f"workers_{n}", workers=n, quiet=True,
                                 power_scaling=False)
        wall = time.perf_counter() - t0
        assert not res.failed, res.failed
        brms = [r for r in res.records.values() if r.get("stan_program")]
        programs_seen |= set(res.programs)
        runs[n] = {"wall_seconds": round(wall, 1), "tasks": len(res.records),
                   "brms_cells": len(brms), "programs": len(res.programs),
                   "compiled_in_run": len(res.compiled),
                   "fit_seconds_sum": round(sum(r["seconds"] for r in res.records.values()), 1),
                   "brms_fit_seconds_mean": round(sum(r["seconds"] for r in brms) / len(brms), 2)}
        print(f"{n} worker(s): {wall:.1f} s wall for {len(res.records)} tasks", file=sys.stderr)

    def brms_rows(n: int) -> pd.DataFrame:
        df = pd.read_csv(out / f"workers_{n}" / "cells.csv")
        return df[df["engine"] == "brms"].sort_values(["cell", "term"]).reset_index(drop=True)

    ceiling.append(machine_parallelism())
    identical = brms_rows(1)[["estimate", "conf_low", "conf_high"]].equals(
        brms_rows(2)[["estimate", "conf_low", "conf_high"]])
    speedup = runs[1]["wall_seconds"] / runs[2]["wall_seconds"]
    programs = len(programs_seen)
    result = {
        "grid": f"cbpp, {len(cells)} brms cells + {len(cells)} lme4 twins, "
                f"{args.chains} chains x {args.iter} iter",
        "compile_seconds": round(compile_s, 1), "runs": runs,
        "speedup_2_vs_1": round(speedup, 2), "stan_programs": programs,
        "compiles": len(first.compiled), "brms_cells": len(cells),
        "compiles_per_cell": round(len(first.compiled) / len(cells), 3),
        "brms_identical_across_runs": bool(identical),
        "machine_parallelism_before_after": ceiling,
        "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
        "python": platform.python_version(),
    }
    (out / "benchmark.json").write_text(json.dumps(result, indent=1))
    print("\n| workers | wall (s) | tasks | sum of fit times (s) | mean brms fit (s) |")
    print("|---|---|---|---|---|")
    for n, r in runs.items():
        print(f"| {n} | {r['wall_seconds']} | {r['tasks']} | {r['fit_seconds_sum']} | "
              f"{r['brms_fit_seconds_mean']} |")
    print(f"\nspeed-up (2 workers vs 1): {speedup:.2f}; two plain CPU-bound processes got "
          f"{ceiling[0]} / {ceiling[1]} (before / after) over one after the other here")
    print(f"compiles: {len(first.compiled)} ({compile_s:.0f} s, before the runs) for "
          f"{len(cells)} brms cells: {programs} Stan program(s), ratio "
          f"{len(first.compiled) / len(cells):.3f} compiles per cell")
    print(f"brms estimates identical on 1 and 2 workers: {identical}")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
