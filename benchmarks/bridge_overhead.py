"""What the wrapper costs: every engine through pybrms beside its library called directly.

Run: .venv/bin/python benchmarks/bridge_overhead.py [--scale 1.0] [--chains 2] [--iter 1000]
     [--engines brms,lme4,statsmodels] [--models 1a,1b] [--out DIR]

One invocation, one machine state, side by side:

* **brms**: the same ``brm()`` call in plain ``Rscript`` and through ``pybrms.brm`` (a bernoulli
  GLMM on tests/golden/brms/bern.csv): cold (compile + sample, a fresh compile cache) and warm
  (brms's ``update(recompile = FALSE)`` vs pybrms's compile cache).
* **lme4**: the paper's Analysis 1a model (bernoulli ``glmer``, fast preset) and Analysis 1b
  (gaussian ``lmerTest::lmer``) on ``pybrms simulate prism`` data at ``--scale`` (1.0 = the
  paper's 29,7xx rows), timed inside R around the fitting call in ``Rscript`` and around
  ``pybrms.fit(..., engines=["lme4"])`` in Python (R started and lme4 loaded before the clock
  starts on both sides; the median of ``--repeat`` fits each), in wall-clock seconds and in
  CPU seconds of the process (R's ``proc.time()`` user + system; Python's ``process_time()``,
  which counts the embedded R): lme4 runs on one core, so on a machine shared with other work
  the CPU ratio is the steadier measure of what the wrapper adds. ``--models`` picks 1a, 1b or
  both. The largest difference of the estimates is printed. Note: on some data lme4 itself
  lands on optima apart in different R processes (measured with plain Rscript on the
  seed-2025 frames: glmer on 1a up to ~5e-4, 1 run in 4; lmerTest::lmer on 1b ~1e-8, 1 run
  in 4), so a difference of that size is R's, not the bridge's.
* **statsmodels**: Analysis 1b's formula with ``(1 | user_id)`` only (what MixedLM fits at this
  size), ``MixedLM.from_formula(...).fit(reml=True)`` called directly vs through pybrms.

Both sides read the same CSV (written with 17 significant digits; pandas reads it with
``float_precision="round_trip"``, so both hold the same doubles). Prints a table of times and
ratios (pybrms / direct) and writes it as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BERN = ROOT / "tests" / "golden" / "brms" / "bern.csv"
PREDICTORS = ("REASONING_NUANCE + RESPECT + CURIOSITY + COMPASSION + PERSONAL_STORY + AFFINITY"
              " + TOXICITY")
MODELS = {
    "1a (glmer, fast)": ("highest", "bernoulli",
                         "(1 | user_id/conversation_id) + (1 | model_name)", True),
    "1b (lmerTest::lmer)": ("log_score", "gaussian",
                            "(1 | user_id/conversation_id) + (1 | model_name)", False),
}
FAST = 'optimizer = "nloptwrap", calc.derivs = FALSE'

BRMS_R = textwrap.dedent(
    """
    suppressPackageStartupMessages(library(brms))
    if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")
    d <- read.csv("{data}")
    t0 <- proc.time()[["elapsed"]]
    fit <- brm(y ~ x1 + x2 + (1 | user/conv) + (1 | model), data = d, family = bernoulli(),
               prior = set_prior("normal(0, 1e6)", class = "b"), chains = {chains}, iter = {iter},
               seed = 11, cores = 1, refresh = 0, silent = 2)
    t1 <- proc.time()[["elapsed"]]
    fit2 <- update(fit, newdata = d, recompile = FALSE, seed = 12, refresh = 0, silent = 2)
    t2 <- proc.time()[["elapsed"]]
    cat(sprintf('{{"cold": %.3f, "warm": %.3f}}\\n', t1 - t0, t2 - t1))
    """
)

LME4_R = textwrap.dedent(
    """
    suppressPackageStartupMessages({{library(lme4); library(lmerTest)}})
    d <- read.csv("{data}")
    out <- list()
    for (m in jsonlite::fromJSON('{models}', simplifyVector = FALSE)) {{
      f <- as.formula(m$formula)
      secs <- c()
      cpus <- c()
      for (i in seq_len({repeat})) {{
        p0 <- proc.time()
        if (m$family == "gaussian") {{
          fit <- lmerTest::lmer(f, data = d)
        }} else {{
          fit <- glmer(f, data = d, family = binomial,
                       control = glmerControl(optimizer = "nloptwrap", calc.derivs = FALSE))
        }}
        cf <- coef(summary(fit))
        p1 <- proc.time()
        secs <- c(secs, p1[["elapsed"]] - p0[["elapsed"]])
        cpus <- c(cpus, sum(p1[c("user.self", "sys.self")]) - sum(p0[c("user.self", "sys.self")]))
      }}
      out[[m$name]] <- list(seconds = stats::median(secs), cpu = stats::median(cpus),
                            estimate = as.list(cf[, "Estimate"]))
    }}
    cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA), "\\n")
    """
)


def simulated_frames(scale: float, work: Path) -> tuple[Path, Path]:
    """Simulate PRISM at ``scale`` and write the 1a and 1b frames as exact CSVs."""
    from pybrms.papers.kyrychenko2025.frames import build_frames
    from pybrms.papers.kyrychenko2025.simulate import simulate_prism

    folder = work / "prism"
    simulate_prism(folder, seed=2025, scale=scale, fmt="parquet")
    frames = build_frames(folder, folder / "scores.parquet", reasoning_nuance="mean", ties="all")
    paths = []
    for key in ("1a", "1b"):
        path = work / f"frame_{key}.csv"
        frames[key].to_csv(path, index=False, float_format="%.17g")
        paths.append(path)
    return paths[0], paths[1]


def bench_brms(chains: int, iters: int) -> list[dict]:
    import pybrms
    from pybrms import bridge

    script = BRMS_R.format(data=BERN, chains=chains, iter=iters)
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    os.environ["PYBRMS_CACHE_DIR"] = tempfile.mkdtemp(prefix="pybrms-bench-")
    bridge.ensure_r()
    d = pd.read_csv(BERN)
    kw = dict(prior=[pybrms.prior("normal(0, 1e6)", class_="b")], chains=chains, iter=iters,
              cores=1, quiet=True, diagnose=False)
    formula = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
    t0 = time.perf_counter()
    f1 = pybrms.brm(formula, d, "bernoulli", seed=11, **kw)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    f2 = pybrms.brm(formula, d, "bernoulli", seed=12, **kw)
    warm = time.perf_counter() - t0
    assert f1.provenance["details"]["compiled"] and not f2.provenance["details"]["compiled"]
    return [
        {"engine": "brms", "call": f"bern.csv, {chains} x {iters}: compile + sample",
         "direct_s": r["cold"], "pybrms_s": cold, "max_abs_diff": None},
        {"engine": "brms", "call": f"bern.csv, {chains} x {iters}: reuse compiled program",
         "direct_s": r["warm"], "pybrms_s": warm, "max_abs_diff": None},
    ]


def bench_lme4(path_1a: Path, path_1b: Path, repeat: int,
               models: tuple[str, ...] = ("1a", "1b")) -> list[dict]:
    import pybrms

    rows = []
    for name, (y, family, groups, fast) in MODELS.items():
        if name.split()[0] not in models:
            continue
        path = path_1a if family == "bernoulli" else path_1b
        formula = f"{y} ~ {PREDICTORS} + {groups}"
        spec = json.dumps([{"name": name, "formula": formula, "family": family}])
        script = LME4_R.format(data=path, models=spec, repeat=repeat)
        out = subprocess.run(["Rscript", "-e", script],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])[name]
        d = pd.read_csv(path, float_precision="round_trip")
        pybrms.fit("y ~ x + (1 | g)",  # warm-up: R started, lme4/lmerTest loaded
                   pd.DataFrame({"y": [0.1, 0.5, 0.2, 0.9, 0.4, 0.3], "x": [1, 2, 3, 4, 5, 6],
                                 "g": list("aabbcc")}), engines=["lme4"], quiet=True)
        opts = {"lme4": {"fast": True}} if fast else None
        times, cpus = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fs = pybrms.fit(formula, d, family, engines=["lme4"], quiet=True,
                            engine_options=opts)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        seconds = float(np.median(times))
        ours = fs.tidy(effects="fixed").set_index("term")["estimate"]
        theirs = pd.Series(r["estimate"]).rename(index={"(Intercept)": "Intercept"})
        diff = float(np.max(np.abs(ours.reindex(theirs.index).to_numpy() - theirs.to_numpy())))
        rows.append({"engine": "lme4", "call": f"{name}, {len(d):,} rows",
                     "direct_s": float(r["seconds"]), "pybrms_s": seconds,
                     "direct_cpu_s": float(r["cpu"]), "pybrms_cpu_s": float(np.median(cpus)),
                     "max_abs_diff": diff})
    return rows


def bench_statsmodels(path_1b: Path) -> list[dict]:
    from statsmodels.regression.mixed_linear_model import MixedLM

    import pybrms

    d = pd.read_csv(path_1b, float_precision="round_trip")
    fixed = f"log_score ~ {PREDICTORS}"
    t0 = time.perf_counter()
    direct = MixedLM.from_formula(fixed, data=d, groups="user_id", re_formula="1").fit(reml=True)
    direct_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fs = pybrms.fit(f"{fixed} + (1 | user_id)", d, "gaussian", engines=["statsmodels"],
                    quiet=True)
    seconds = time.perf_counter() - t0
    ours = fs.tidy(effects="fixed")["estimate"].to_numpy()
    diff = float(np.max(np.abs(ours - np.asarray(direct.fe_params))))
    return [{"engine": "statsmodels", "call": f"1b with (1 | user_id), {len(d):,} rows",
             "direct_s": direct_s, "pybrms_s": seconds, "max_abs_diff": diff}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--iter", type=int, default=1000)
    ap.add_argument("--engines", default="brms,lme4,statsmodels")
    ap.add_argument("--models", default="1a,1b", help="lme4 models: 1a, 1b or both")
    ap.add_argument("--out", default="bench-overhead")
    ap.add_argument("--repeat", type=int, default=3, help="lme4 fits per side (median)")
    args = ap.parse_args()
    engines = args.engines.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="pybrms-bench-") as tmp:
        p1a, p1b = simulated_frames(args.scale, Path(tmp))
        if "lme4" in engines:
            rows += bench_lme4(p1a, p1b, args.repeat, tuple(args.models.split(",")))
        if "statsmodels" in engines:
            rows += bench_statsmodels(p1b)
        if "brms" in engines:
            rows += bench_brms(args.chains, args.iter)
    print(f"{'engine':12s} {'call':52s} {'direct (s)':>10s} {'pybrms (s)':>10s} "
          f"{'ratio':>6s} {'CPU ratio':>9s} {'max |diff|':>10s}")
    for r in rows:
        r["ratio"] = r["pybrms_s"] / r["direct_s"]
        if "direct_cpu_s" in r:
            r["cpu_ratio"] = r["pybrms_cpu_s"] / r["direct_cpu_s"]
        cpu = f"{r['cpu_ratio']:9.2f}" if "cpu_ratio" in r else f"{'':9s}"
        diff = "" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
        print(f"{r['engine']:12s} {r['call']:52s} {r['direct_s']:10.2f} {r['pybrms_s']:10.2f} "
              f"{r['ratio']:6.2f} {cpu} {diff:>10s}")
    (out / "overhead.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
