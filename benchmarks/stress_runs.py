"""The run engine under load and faults, for longer runs than the test tier's.

    python benchmarks/stress_runs.py --tasks 200 --workers 2 --runs 3 --out stress-benchmark

Each run fits the stress tasks (tests/support/stress.py: brms, lme4 and statsmodels on small
data, with a task that hangs, one whose R aborts, one that kills its Dask worker and one that
raises) on a fresh local Dask cluster, then a clean run (no faults) is timed. The record goes
to OUT/stress_runs.json: per run the wall time, fitted and failed counts and each failure's
reason; the clean run's wall time; the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pybrms.jsonio import write_json  # noqa: E402
from pybrms.runs import engine as run_engine  # noqa: E402
from pybrms.runs.cluster import dask_client  # noqa: E402
from pybrms.runs.limits import Limits  # noqa: E402
from tests.support import stress  # noqa: E402


def one_run(folder: Path, n: int, workers: int, marker: str | None) -> dict:
    tasks = stress.tasks(n, marker=marker)
    limits = Limits(timeout=120, retries=1)
    t0 = time.perf_counter()
    with dask_client(workers=workers, worker_deaths=limits.retries) as client:
        out = run_engine.run(tasks, folder, client=client, keep_going=True, limits=limits)
    return {"seconds": round(time.perf_counter() - t0, 1), "fitted": len(out.fitted),
            "failed": out.failed, "compiled": len(out.compiled)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", default="stress-benchmark")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "faults-on"
    runs = []
    for i in range(a.runs):
        marker.write_text("")
        runs.append(one_run(out / f"run{i + 1}" / "cells", a.tasks, a.workers, str(marker)))
        print(f"run {i + 1}: {runs[-1]['seconds']} s, {runs[-1]['fitted']} fitted, "
              f"{len(runs[-1]['failed'])} failed", flush=True)
    marker.unlink(missing_ok=True)
    clean = one_run(out / "clean" / "cells", a.tasks, a.workers, None)
    print(f"clean run: {clean['seconds']} s, {clean['fitted']} fitted", flush=True)
    record = {"benchmark": "stress_runs", "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "machine": {
                  "cpus": os.cpu_count(), "platform": platform.platform(),
                  "python": platform.python_version()},
              "tasks": a.tasks, "workers": a.workers, "faults": stress.FAULTS,
              "runs": runs, "clean_run": clean}
    write_json(out / "stress_runs.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
