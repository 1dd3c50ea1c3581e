"""What a simulation study costs on the run engine: compiles, brms's overhead beyond sampling,
and the Dask speed-up, for one study run on 1 and on 2 local workers in one invocation.

Run: .venv/bin/python benchmarks/simstudy.py [--reps 200] [--chains 2] [--iter 1000]
     [--out DIR] [--record benchmarks/results/simstudy_<date>.json]

The study: a small GLMM (bernoulli ``y ~ x + (1 | g)``, 20 groups x 10 rows, random-intercept
SD 1), ``--reps`` replicates, methods brms (explicit priors: one Stan program for every
replicate; ``--chains`` x ``--iter``, chains one after another) and lme4. Steps:

1. a fresh compile cache; one replicate of brms fitted here (compiles the program: timed
   apart, so both timed runs find it in the cache);
2. the study on a LocalCluster of 1 worker and of 2 (fresh output folders; worker start-up
   and each worker's R start inside the timing), alternating in ``--rounds`` rounds that each
   add ``reps / rounds`` replicates to both (the checkpoints resume the rest), so the machine's
   other load weighs on both alike;
3. the numbers: compiles over the whole benchmark (goal 1), the per-replicate brms overhead
   beyond sampling (the fit's CPU seconds minus Stan's own warm-up + sampling CPU seconds, as
   a share of the latter; goal under 20%; the same in wall-clock seconds) with its breakdown (brms's build step ``brm(empty = TRUE)``,
   brms's own work around rstan's sampling, the summaries pybrms reads back), the speed-up of
   2 workers over 1 (goal >= 1.6) beside what two plain CPU-bound processes get on the machine
   at the same time, and whether the estimates are identical on 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensitivity_dask import machine_parallelism  # noqa: E402

PRIORS = [{"prior": "normal(0, 2.5)", "class": "b"},
          {"prior": "student_t(3, 0, 2.5)", "class": "Intercept"},
          {"prior": "student_t(3, 0, 2.5)", "class": "sd"}]


def study(reps: int, chains: int, iter_: int) -> dict:
    """The benchmark study as a mapping (the TOML form)."""
    return {
        "study": {"name": "simstudy_benchmark", "seed": 42, "reps": reps, "focus": ["x"],
                  "formula": "y ~ x + (1 | g)", "family": "bernoulli"},
        "model": {"formula": "y ~ x + (1 | g)", "family": "bernoulli",
                  "truth": {"b_Intercept": -0.5, "b_x": 0.5, "sd_g__Intercept": 1.0},
                  "design": {"groups": {"g": 20}, "size": 10,
                             "covariates": {"x": "normal(0, 1)"}}},
        "methods": {"brms": {"engine": "brms", "prior": PRIORS, "chains": chains,
                             "iter": iter_},
                    "lme4": {"engine": "lme4"}},
    }


def overhead(records: list[dict]) -> dict:
    """brms's per-replicate seconds beyond Stan's own sampling, and where they go.

    Stan times its chains in CPU seconds (``std::clock``), so the overhead that compares with
    them is the fit's CPU time minus Stan's (``overhead_cpu_share_of_sampling``); the wall-clock
    overhead also holds the time the process waited for a core on a shared machine.
    """
    fit = np.array([r["seconds"] for r in records])
    cpu = np.array([r["cpu_seconds"] for r in records])
    gen = np.array([r.get("generate_seconds", 0.0) for r in records])
    stan = np.array([r["stan_seconds"] for r in records])
    timing = [r["provenance"]["timing_seconds"] for r in records]
    build = np.array([t["build"] for t in timing])
    sample = np.array([t["sample"] for t in timing])
    total = np.array([t["total"] for t in timing])
    over = fit + gen - stan
    return {
        "fits": len(records), "stan_seconds_mean": round(float(stan.mean()), 3),
        "fit_seconds_mean": round(float(fit.mean()), 3),
        "cpu_seconds_mean": round(float(cpu.mean()), 3),
        "overhead_cpu_seconds_mean": round(float((cpu - stan).mean()), 3),
        "overhead_cpu_share_of_sampling": round(float((cpu - stan).sum() / stan.sum()), 3),
        "overhead_wall_seconds_mean": round(float(over.mean()), 3),
        "overhead_wall_share_of_sampling": round(float(over.sum() / stan.sum()), 3),
        "breakdown_wall_seconds_mean": {
            "generate_data": round(float(gen.mean()), 4),
            "brms_build_step": round(float(build.mean()), 3),
            "brms_around_rstan_sampling": round(float((sample - stan).mean()), 3),
            "engine_other": round(float((total - build - sample).mean()), 3),
            "summaries_and_record": round(float((fit - total).mean()), 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--iter", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4,
                    help="alternate the 1- and 2-worker runs in this many rounds")
    ap.add_argument("--record", default=None, help="write the JSON record here too")
    args = ap.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="pybrms-simstudy-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="pybrms-bench-cache-"))
    os.environ["PYBRMS_CACHE_DIR"] = str(cache)  # inherited by the worker processes

    import pybrms
    from pybrms.simstudy import parse_study

    table = study(args.reps, args.chains, args.iter)
    t0 = time.perf_counter()
    warm = json.loads(json.dumps(table))
    warm["methods"].pop("lme4")
    first = pybrms.simstudy(parse_study(warm), out=out / "compile", reps=1, quiet=True)
    compile_s = time.perf_counter() - t0
    compiles = len(first.compiled)
    ceiling = [machine_parallelism()]
    runs, frames = {}, {}
    walls = {1: 0.0, 2: 0.0}
    results = {}
    # The two runs alternate in rounds (each round adds reps / rounds replicates to both; the
    # checkpoints make each call fit only the new ones), so a change in the machine's other
    # load during the benchmark falls on both alike.
    for k in range(1, args.rounds + 1):
        reps_k = round(args.reps * k / args.rounds)
        for n in (1, 2):
            t0 = time.perf_counter()
            results[n] = pybrms.simstudy(parse_study(study(reps_k, args.chains, args.iter)),
                                         out=out / f"workers_{n}", workers=n, quiet=True,
                                         keep_going=True)
            walls[n] += time.perf_counter() - t0
            compiles += len(results[n].compiled)
            print(f"round {k}: {n} worker(s), {reps_k} replicates so far, "
                  f"{walls[n]:.1f} s wall in all", file=sys.stderr)
    for n, res in results.items():
        brms = [r for r in res.records.values() if r.get("method") == "brms"]
        lme4 = [r for r in res.records.values() if r.get("method") == "lme4"]
        runs[n] = {"wall_seconds": round(walls[n], 1), "fits": len(res.records),
                   "failed": len(res.failed), "programs": len(res.programs),
                   "brms": overhead(brms),
                   "lme4_fit_seconds_mean": round(float(np.mean([r["seconds"] for r in lme4])),
                                                  3)}
        frames[n] = res.estimates.sort_values(["rep", "method", "term"]).reset_index(drop=True)
    ceiling.append(machine_parallelism())
    cols = ["estimate", "std_error", "conf_low", "conf_high"]
    identical = frames[1][cols].equals(frames[2][cols])
    speedup = runs[1]["wall_seconds"] / runs[2]["wall_seconds"]
    cover = frames[2][frames[2]["method"] == "brms"]
    result = {
        "benchmark": "benchmarks/simstudy.py",
        "command": "python benchmarks/simstudy.py " + " ".join(argv or sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"host": socket.gethostname(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg(),
                    "machine_parallelism_before_after": ceiling},
        "study": f"bernoulli y ~ x + (1 | g), 20 groups x 10 rows; {args.reps} replicates x "
                 f"(brms {args.chains} chains x {args.iter} iter, lme4), 1 and 2 workers alternating in "
        f"{args.rounds} rounds",
        "compile_seconds": round(compile_s, 1), "compiles": compiles,
        "goal_compiles": 1, "runs": runs, "speedup_2_vs_1": round(speedup, 2),
        "goal_speedup": 1.6,
        "goal_overhead_share": 0.2,
        "estimates_identical_on_1_and_2_workers": bool(identical),
        "brms_coverage_of_x": round(float(((cover["conf_low"] <= cover["truth"])
                                           & (cover["truth"] <= cover["conf_high"])).mean()), 3),
    }
    text = json.dumps(result, indent=1)
    (out / "benchmark.json").write_text(text)
    if args.record:
        Path(args.record).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
