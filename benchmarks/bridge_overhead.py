"""Bridge overhead: the same brm() call in plain Rscript and through pybrms, side by side.

Run: .venv/bin/python benchmarks/bridge_overhead.py [--model bernoulli|gaussian] [--iter N]
Prints wall times and ratios (pybrms / plain R) for: a cold call (compile + sample), and a
warm call (pybrms reusing its compiled-program cache) against brms's own
update(recompile = FALSE) in R. Runs one after another in this one script, so both sides see
the same machine state. Uses a fresh temporary cache for the cold pybrms call.
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

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "golden" / "brms" / "bern.csv"
R_SCRIPT = textwrap.dedent(
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--iter", type=int, default=1000)
    args = ap.parse_args()
    script = R_SCRIPT.format(data=DATA, chains=args.chains, iter=args.iter)
    t0 = time.perf_counter()
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    r_process = time.perf_counter() - t0
    r = json.loads(out.stdout.strip().splitlines()[-1])

    os.environ["PYBRMS_CACHE_DIR"] = tempfile.mkdtemp(prefix="pybrms-bench-")
    import pandas as pd

    import pybrms
    from pybrms import bridge

    t0 = time.perf_counter()
    bridge.ensure_r()
    start_r = time.perf_counter() - t0
    d = pd.read_csv(DATA)
    kw = dict(
        prior=[pybrms.prior("normal(0, 1e6)", class_="b")],
        chains=args.chains,
        iter=args.iter,
        cores=1,
        quiet=True,
        diagnose=False,
    )
    formula = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
    t0 = time.perf_counter()
    f1 = pybrms.brm(formula, d, "bernoulli", seed=11, **kw)
    py_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    f2 = pybrms.brm(formula, d, "bernoulli", seed=12, **kw)
    py_warm = time.perf_counter() - t0
    assert f1.provenance["compiled"] and not f2.provenance["compiled"]
    compile_s = pybrms.cache.get_cache().entries()[0]["compile_seconds"]
    rows = [
        ("cold: compile + sample", r["cold"], py_cold),
        ("warm: reuse compiled program", r["warm"], py_warm),
    ]
    print(f"bernoulli GLMM, {len(d)} rows, {args.chains} chains x {args.iter} iter, cores = 1")
    print(
        f"pybrms start-up (rpy2 + library(brms), once per process): {start_r:.1f} s; "
        f"Rscript whole process {r_process:.1f} s"
    )
    print(f"compile time (pybrms, from cache metadata): {compile_s:.1f} s")
    print(f"{'call':32s} {'plain R (s)':>12s} {'pybrms (s)':>11s} {'ratio':>7s}")
    for name, rt, pt in rows:
        print(f"{name:32s} {rt:12.2f} {pt:11.2f} {pt / rt:7.3f}")
    print("pybrms warm split:", json.dumps(f2.provenance["timing_seconds"]))


if __name__ == "__main__":
    main()
