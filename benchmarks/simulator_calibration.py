"""Does the simulated PRISM carry the paper's uncertainty? Published vs reproduced Est.Error.

Simulates the paper-scale dataset (``scale=1``) for each seed and fits, with lme4 through
pybrms (seconds per model; brms agrees with lme4 to about 0.002 on these data), every model of
Tables 2(a), 2(b) (all conversations and each type), 3 and 4. For every published row it
prints the published and reproduced estimate and standard error, their ratio, whether the
sign agrees, and whether the star agrees (``*`` BF > 100, ``†`` BF > 10, with the one-sided
evidence ratio of the normal approximation, Phi(z) / Phi(-z), as a flat-prior posterior would
give it). The simulator's generating values and calibration are in ``truth.json`` and in the
docstring of :mod:`pybrms.papers.kyrychenko2025.simulate`; ``pybrms/data/bundled/README.md`` has the derivation.

Usage::

    python benchmarks/simulator_calibration.py --out /tmp/calibration [--seeds 1-3]
        [--slopes homogeneous|paper] [--tables 2,3,4] [--scale 1.0]

Writes ``benchmarks/results/simulator_calibration_<slopes>_seeds<...>.json`` (``--results``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

import pybrms
from pybrms.atomic import atomic_write_text
from pybrms.papers.kyrychenko2025.frames import MODERATORS, PREDICTORS, build_frames
from pybrms.papers.kyrychenko2025.published import CONVO_TYPE_LABELS, load_published
from pybrms.papers.kyrychenko2025.simulate import simulate_prism

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recovery_coverage import parse_seeds  # noqa: E402 - the benchmarks' one seed-list reader

RE = " + (1 | user_id/conversation_id) + (1 | model_name)"
ORDER = ("REASONING_NUANCE", "RESPECT", "CURIOSITY", "COMPASSION", "PERSONAL_STORY",
         "AFFINITY", "TOXICITY")
HUMAN = tuple(f"{p}_human" for p in ORDER)


def fit_lme4(formula: str, data: pd.DataFrame, family: str) -> pd.DataFrame:
    """lme4's fixed effects through pybrms, indexed by brms's term names."""
    opts = {"lme4": {"fast": True}} if family == "bernoulli" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = pybrms.fit(formula, data, family, engines=["lme4"], quiet=True,
                        engine_options=opts)
    t = fs["lme4"].tidy()
    return t[t["effect"] == "fixed"].set_index("term")


def star(estimate: float, se: float, direction: str) -> tuple[str, float]:
    """The paper's star from the normal approximation of the one-sided evidence ratio."""
    z = (estimate if direction == ">" else -estimate) / se
    log10_bf = (norm.logcdf(z) - norm.logcdf(-z)) / np.log(10)
    return ("*" if log10_bf > 2 else "†" if log10_bf > 1 else ""), float(log10_bf)


def reproduce(frames, tables: list[str]) -> list[dict]:
    """One row per published row: the reproduced estimate and SE beside the published."""
    rows = []
    rhs = " + ".join(ORDER) + RE
    label = {v: k for k, v in CONVO_TYPE_LABELS.items()}
    if "2" in tables:
        t2 = load_published("table2")
        for analysis, frame, family, y in (("1b", "1b", "gaussian", "log_score"),
                                           ("1a", "1a", "bernoulli", "highest")):
            for convo in CONVO_TYPE_LABELS.values():
                df = frames[frame]
                ctype = label[convo]
                if ctype != "all":
                    df = df[df["conversation_type"] == ctype]
                fit = fit_lme4(f"{y} ~ {rhs}", df, family)
                pub = t2[(t2["analysis"] == analysis) & (t2["convo_type"] == convo)]
                rows += _rows("table2", analysis, convo, pub, fit)
    if "3" in tables:
        d2 = frames["2"].copy()
        formula = ("log_score ~ (" + " + ".join(MODERATORS) + ") * (" + " + ".join(PREDICTORS)
                   + ")" + RE)
        fit = fit_lme4(formula, d2, "gaussian")
        rows += _rows("table3", "2", "", load_published("table3"), fit)
    if "4" in tables:
        t4 = load_published("table4")
        for dv in ORDER:
            fit = fit_lme4(f"{dv} ~ " + " + ".join(HUMAN) + RE, frames["3"], "gaussian")
            rows += _rows("table4", "3", dv, t4[t4["dv"] == dv], fit)
    return rows


def _rows(table: str, analysis: str, key: str, pub: pd.DataFrame, fit: pd.DataFrame) -> list:
    out = []
    for p in pub.itertuples():
        term = p.term
        if term not in fit.index:  # Table 3's youngerTRUE:X is lme4's younger TRUE column
            continue
        est, se = float(fit.loc[term, "estimate"]), float(fit.loc[term, "std_error"])
        s, log10_bf = star(est, se, p.direction)
        pstar = "*" if p.bf > 100 else "†" if p.bf > 10 else ""
        out.append({"table": table, "analysis": analysis, "key": key, "term": term,
                    "direction": p.direction, "published": p.estimate,
                    "published_se": p.est_error, "estimate": est, "se": se,
                    "se_ratio": se / p.est_error,
                    "same_sign": bool(np.sign(est) == np.sign(p.estimate)),
                    "published_star": pstar, "star": s, "same_star": pstar == s,
                    "log10_bf": log10_bf})
    return out


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per table/analysis/key: SE ratio range, rows within +-25%, signs and stars agreeing."""
    g = df.groupby(["table", "analysis", "key"], sort=False)
    return pd.DataFrame({
        "rows": g.size(),
        "se_ratio_min": g["se_ratio"].min(), "se_ratio_median": g["se_ratio"].median(),
        "se_ratio_max": g["se_ratio"].max(),
        "se_within_25pct": g["se_ratio"].apply(lambda r: int(((r - 1).abs() <= 0.25).sum())),
        "same_sign": g["same_sign"].sum(), "same_star": g["same_star"].sum(),
    }).reset_index()


def main(argv: list[str] | None = None) -> int:
    """Run the seeds; print per-row and summary tables; write the JSON record."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the simulated data")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--slopes", choices=("paper", "homogeneous"), default="paper")
    ap.add_argument("--tables", default="2,3,4")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    tables = args.tables.split(",")
    seeds = parse_seeds(args.seeds)
    t0 = time.perf_counter()
    all_rows = []
    for seed in seeds:
        data = Path(args.out) / f"seed-{seed}-{args.slopes}"
        res = simulate_prism(data, seed=seed, scale=args.scale, fmt="parquet",
                             slopes=args.slopes)
        frames = build_frames(data, res.files["scores"], reasoning_nuance="mean", ties="all")
        rows = reproduce(frames, tables)
        for r in rows:
            r["seed"] = seed
        all_rows += rows
        d = pd.DataFrame(rows)
        print(f"seed {seed}: {len(d)} rows, SE within 25% in "
              f"{int(((d['se_ratio'] - 1).abs() <= 0.25).sum())}, same sign in "
              f"{int(d['same_sign'].sum())}, same star in {int(d['same_star'].sum())} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.DataFrame(all_rows)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        cols = ["seed", "table", "analysis", "key", "term", "published", "estimate",
                "published_se", "se", "se_ratio", "same_sign", "published_star", "star"]
        print(df[cols].round(3).to_string(index=False))
        summary = summarise(df)
        print(summary.round(2).to_string(index=False))
    record = {
        "benchmark": "simulator_calibration", "engine": "lme4", "seeds": seeds,
        "scale": args.scale, "slopes": args.slopes, "reasoning_nuance": "mean",
        "tables": tables, "seconds": round(time.perf_counter() - t0, 1),
        "summary": summary.to_dict(orient="records"), "rows": df.to_dict(orient="records"),
    }
    name = f"simulator_calibration_{args.slopes}_seeds{args.seeds}.json"
    out = Path(args.results) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=1, default=float))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
