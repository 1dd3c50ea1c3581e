"""Coverage over many simulated datasets: is a miss in one recovery run chance or bias?

One full-scale recovery run (``recovery_full_scale.py``) checks 7 Table 2(b) rows against one
simulated dataset; with a correct pipeline each 95% interval misses with probability 0.05, so a
miss or two in one run says little. This script repeats the simulation over many seeds at the
paper's scale and fits Analysis 1b (all conversations) with lme4 through pybrms (brms fits with
the paper's flat priors agree with lme4 to about 0.002 here, and take an hour each on 2 cores),
then reports, per term and overall: coverage of the 95% intervals, the mean z = (estimate -
truth) / SE (bias shows as a mean z away from 0) and its standard error, and the joint
chi-square of all z's. ``--slopes homogeneous`` (the default) gives every response Table 2(b)
"all"'s slopes, so those are the model's estimand.

``--engine fast`` is the Bayesian arm: the same model with brms's priors (the paper's flat
``normal(0, 1e6)`` on ``b``, brms's defaults elsewhere), sampled by the fast engine
(``--chains``, ``--warmup``, ``--draws``; 2 x (500 + 500) by default, each seed its own sampler
seed). The estimate is the posterior mean, the SE the posterior SD and the interval the 95%
equal-tailed credible interval, so the same coverage and z statistics test the posterior's
calibration at the paper's scale, which brms (about an hour per fit here) cannot do in a
working day. Each seed also records its divergences, tree-depth hits, smallest bulk ESS and
largest R-hat over all parameters.

Every seed's fit is checkpointed under ``OUT/fits/`` (atomically), so a killed run resumes.

Usage::

    python benchmarks/recovery_coverage.py --out /tmp/coverage [--seeds 1-20] [--scale 1.0]
        [--slopes homogeneous|paper] [--engine lme4|statsmodels|fast]
        [--chains 2 --warmup 500 --draws 500]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binom, chi2

from pybrms.atomic import atomic_write_text
from pybrms.papers.kyrychenko2025.frames import build_frames
from pybrms.papers.kyrychenko2025.replicate.fitting import fit_unit
from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
from pybrms.papers.kyrychenko2025.replicate.runner import unit_data
from pybrms.papers.kyrychenko2025.simulate import simulate_prism


def parse_seeds(text: str) -> list[int]:
    """``"1-5,9"`` -> ``[1, 2, 3, 4, 5, 9]``."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def fit_seed(seed: int, args: argparse.Namespace, out: Path) -> list[dict]:
    """Simulate (unless present), fit 1b_all with the engine, return one row per true term."""
    path = out / "fits" / f"seed-{seed}__{args.engine}.json"
    if path.exists():
        return json.loads(path.read_text())
    data = out / "data" / f"seed-{seed}"
    if not (data / "truth.json").exists():
        simulate_prism(data, seed=seed, scale=args.scale, reasoning_nuance="product",
                       slopes=args.slopes)
    truth = json.loads((data / "truth.json").read_text())["analysis_1b"]
    plan = build_plan(["1b"], ["brms", args.engine], convo_types=["all"],
                      reasoning_nuance="product")
    unit = plan.unit_of("1b_all", args.engine)
    if args.engine == "fast":
        unit = dataclasses.replace(unit, model=dataclasses.replace(
            unit.model, chains=args.chains, warmup=args.warmup,
            iter=args.warmup + args.draws, seed=seed))
    frames = build_frames(data, data / "scores.parquet", **plan.frame_options)
    df = unit_data(frames, unit)
    record = fit_unit(unit, df, fit_path=None, cores=args.chains, quiet=True)
    tidy = pd.DataFrame(record["tidy"]).set_index("term")
    sampler = _sampler_checks(record)
    rows = []
    for term, value in truth.items():
        if term == "Intercept" or term not in tidy.index:
            continue
        t = tidy.loc[term]
        rows.append({"seed": seed, "term": term, "truth": float(value),
                     "estimate": float(t["estimate"]), "std_error": float(t["std_error"]),
                     "conf_low": float(t["conf_low"]), "conf_high": float(t["conf_high"]),
                     "conf_level": float(t["conf_level"]), "n_rows": len(df),
                     "seconds": record["seconds"], **sampler})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(rows, indent=1))
    return rows


def _sampler_checks(record: dict) -> dict:
    """A sampled fit's divergences, tree-depth hits, largest R-hat and smallest bulk ESS (over
    every parameter, group-level SDs included); nothing for a frequentist fit."""
    d = record.get("diagnostics")
    if not d:
        return {}
    return {"divergences": int(d["divergences"]), "treedepth_hits": int(d["treedepth_hits"]),
            "rhat_max": float(d["rhat_max"]), "ess_bulk_min": float(d["ess_bulk_min"])}


def main(argv: list[str] | None = None) -> int:
    """Run every seed, print and write ``OUT/coverage_<engine>.json``; exit 1 if coverage or
    z fail."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--slopes", choices=("paper", "homogeneous"), default="homogeneous")
    ap.add_argument("--engine", choices=("lme4", "statsmodels", "fast"), default="lme4")
    ap.add_argument("--chains", type=int, default=2, help="fast only")
    ap.add_argument("--warmup", type=int, default=500, help="fast only")
    ap.add_argument("--draws", type=int, default=500, help="fast only")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t0 = time.perf_counter()
    seeds = parse_seeds(args.seeds)
    rows = []
    for i, seed in enumerate(seeds, 1):
        got = fit_seed(seed, args, out)
        rows += got
        z = [(r["estimate"] - r["truth"]) / r["std_error"] for r in got]
        print(f"[{i}/{len(seeds)}] seed {seed}: {sum(abs(v) > 1.96 for v in z)} of {len(z)} "
              f"outside 95%, sum z^2 {sum(v * v for v in z):.1f} "
              f"({got[0]['seconds']:.0f} s fit, {got[0]['n_rows']:,} rows"
              + (f"; max R-hat {got[0]['rhat_max']:.3f}, min bulk ESS {got[0]['ess_bulk_min']:.0f}"
                 f", {got[0]['divergences']} divergences" if "rhat_max" in got[0] else "")
              + ")", flush=True)
    df = pd.DataFrame(rows)
    df["z"] = (df["estimate"] - df["truth"]) / df["std_error"]
    df["inside"] = (df["conf_low"] <= df["truth"]) & (df["truth"] <= df["conf_high"])
    per_term = df.groupby("term").agg(
        truth=("truth", "first"), mean_estimate=("estimate", "mean"), mean_z=("z", "mean"),
        sd_z=("z", "std"), inside=("inside", "sum"), n=("inside", "size"))
    per_term["se_mean_z"] = 1 / np.sqrt(per_term["n"])  # z ~ N(0, 1) under recovery
    n, misses = len(df), int((~df["inside"]).sum())
    sum_z2 = float((df["z"] ** 2).sum())
    summary = {
        "engine": args.engine, "scale": args.scale, "slopes": args.slopes, "seeds": seeds,
        "intervals": n, "inside": n - misses, "coverage": (n - misses) / n,
        "conf_level": float(df["conf_level"].iloc[0]),
        # two-sided: too many misses (under-coverage) or too few (intervals too wide)
        "p_misses": float(min(1.0, 2 * min(binom.sf(misses - 1, n, 0.05),
                                              binom.cdf(misses, n, 0.05)))),
        "sum_z2": sum_z2, "p_joint": float(chi2.sf(sum_z2, n)),
        "max_abs_mean_z_over_se": float((per_term["mean_z"].abs() / per_term["se_mean_z"]).max()),
        "per_term": per_term.reset_index().to_dict(orient="records"),
        "seconds": round(time.perf_counter() - t0, 1),
        "median_fit_seconds": float(df.groupby("seed")["seconds"].first().median()),
    }
    if "divergences" in df:
        per_seed = df.groupby("seed").first()
        summary["sampling"] = {
            "chains": args.chains, "warmup": args.warmup, "draws": args.draws,
            "divergences": int(per_seed["divergences"].sum()),
            "seeds_with_divergences": int((per_seed["divergences"] > 0).sum()),
            "treedepth_hits": int(per_seed["treedepth_hits"].sum()),
            "rhat_max": float(per_seed["rhat_max"].max()),
            "ess_bulk_min": float(per_seed["ess_bulk_min"].min()),
        }
    atomic_write_text(out / f"coverage_{args.engine}.json", json.dumps(summary, indent=1))
    print(per_term.round(3).to_string())
    ok = summary["p_misses"] > 0.001 and summary["p_joint"] > 0.001 and \
        summary["max_abs_mean_z_over_se"] < 3.9  # |mean z| / SE beyond 3.9: p < 0.0001
    print(f"{n} intervals over {len(seeds)} seeds: {n - misses} inside ({100 * summary['coverage']:.1f}%"
          f"; two-sided binomial p = {summary['p_misses']:.3g}); sum z^2 = {sum_z2:.1f} on {n} df "
          f"(p = {summary['p_joint']:.3g}); largest |mean z| = "
          f"{summary['max_abs_mean_z_over_se']:.2f} SE: {'recovered' if ok else 'NOT recovered'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
