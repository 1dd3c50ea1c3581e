"""`pybrms replicate` end to end, with real fits on the bundled simulated data.

A plan of Analysis 1a on all four conversation types proves that fits sharing a Stan program
compile it once. One demo run is killed right after its first fit is checkpointed, then resumed;
a third run finds everything checkpointed. Analysis 1b with all three engines on two Dask
workers, into a new folder, compiles nothing (the cache) and gives the demo's records bit for bit.

Every run here compiles into the session's cache (tests/conftest.py), so each program is built
once per session: the 1a program by the first test (on a fresh cache), the 1b program by the
demo, and test_wheel_install.py and the ELPD check below find them there. Compile counts are therefore asserted against what the cache held before.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pybrms.cache import ModelCache
from pybrms.papers.kyrychenko2025.prism import bundled_path
from pybrms.papers.kyrychenko2025.replicate.tables import PAPER_COLUMNS
from tests.support.browser import check_page

pytestmark = pytest.mark.slow

CMD = [sys.executable, "-m", "pybrms.cli", "replicate"]


def _env(cache: Path) -> dict[str, str]:
    """This process's environment (R may be running in it: the bridge keeps it clean) with a
    compile cache."""
    return {**os.environ, "PYBRMS_CACHE_DIR": str(cache)}


def _run(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CMD, *args], env=_env(cache), capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _programs(cache: Path) -> set[str]:
    return {e["key"] for e in ModelCache(cache).entries()}


def test_fits_sharing_a_stan_program_compile_it_once(tmp_path, cache_dir):
    """1a on all four conversation types: four bernoulli fits, one Stan program, one compile
    (none if an earlier run of this session's cache built it: then the count says 0)."""
    before = _programs(cache_dir)
    proc = _run(["--data", str(bundled_path()),
                 "--analyses", "1a", "--engines", "brms", "--quick", "--reasoning-nuance", "mean",
                 "--out", str(tmp_path / "out")], cache_dir)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    new = _programs(cache_dir) - before
    assert len(run["fitted"]) == 4
    assert run["stan_programs_distinct"] == 1
    assert run["stan_programs_compiled"] == len(new) <= 1
    assert (f"4 brms fit(s) over 1 distinct Stan program(s), {len(new)} compiled in this run"
            in proc.stderr)
    t2 = pd.read_csv(tmp_path / "out" / "tables" / "table2.csv")
    assert sorted(set(t2["convo_type"])) == ["all", "controversy guided", "unguided",
                                              "value guided"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, cache_dir):
    """Kill a demo run after its first checkpoint, resume it, then run it a third time."""
    root = tmp_path_factory.mktemp("replicate")
    cache, out = cache_dir, root / "out"
    cached_before = _programs(cache)
    first = out / "fits" / "1a_all__brms.json"
    log = root / "killed-run.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([*CMD, "--demo", "--out", str(out)], env=_env(cache),
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 1200
    while not first.exists():
        assert proc.poll() is None, "the demo ended before its first checkpoint:\n" + \
            log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint after 20 minutes"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = {"bytes": first.read_bytes(), "mtime": first.stat().st_mtime_ns,
              "report_exists": (out / "report.md").exists()}
    t0 = time.perf_counter()
    resumed = _run(["--demo", "--out", str(out)], cache)
    resumed_s = time.perf_counter() - t0
    again = _run(["--demo", "--out", str(out)], cache)
    return {"root": root, "out": out, "cache": cache, "cached_before": cached_before,
            "first": first, "killed": killed,
            "resumed": resumed, "again": again, "resumed_s": resumed_s}


def test_killed_run_resumes_without_refitting_its_first_model(demo):
    assert not demo["killed"]["report_exists"]  # the kill came before the end
    first = demo["first"]
    assert first.read_bytes() == demo["killed"]["bytes"]
    assert first.stat().st_mtime_ns == demo["killed"]["mtime"]
    assert "1a_all · brms · resumed from checkpoint" in demo["resumed"].stderr
    run = json.loads((demo["out"] / "run.json").read_text())
    assert run["resumed"][0] == "1a_all__brms"
    assert "1a_all__brms" not in run["fitted"]
    assert "1b_all__brms" in run["resumed"] + run["fitted"]


def test_a_finished_run_redoes_nothing(demo):
    run = json.loads((demo["out"] / "run.json").read_text())
    assert run["fitted"] == []
    assert sorted(run["resumed"]) == sorted(
        ["1a_all__brms", "1a_all__lme4", "1b_all__brms", "1b_all__lme4"])
    assert run["stan_programs_compiled"] == 0
    assert "0 compiled in this run" in demo["again"].stderr


def test_compiles_equal_distinct_programs(demo):
    records = [json.loads(p.read_text()) for p in (demo["out"] / "fits").glob("*__brms.json")]
    programs = {r["stan_program"] for r in records}
    assert len(programs) == 2  # bernoulli 1a and gaussian 1b
    # each program not yet in the cache compiled exactly once, the others not at all
    assert sum(r["compiled"] for r in records) == len(programs - demo["cached_before"])
    assert {r["stan_program"] for r in records if r["compiled"]} == \
        programs - demo["cached_before"]
    assert programs <= _programs(demo["cache"])
    timings = [json.loads(p.read_text())["seconds"]
               for p in (demo["out"] / "fits").glob("*__brms.json")]
    print(f"demo: resumed run {demo['resumed_s']:.1f} s; brms fits {timings}")


def test_demo_writes_the_report_tables_and_figures(demo):
    out = demo["out"]
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        assert "Tables 2-4 as reproduced" in text and "Published vs reproduced" in text
        assert "Provenance" in text and "brms 2." in text.replace("brms: ", "brms ")
    assert page.count("data:image/png;base64,") == 4
    for pid in ("1a", "1b", "2g", "2h"):
        assert (out / "figures" / f"figure{pid}.png").stat().st_size > 10_000
    t2 = pd.read_csv(out / "tables" / "table2.csv")
    assert set(PAPER_COLUMNS) <= set(t2.columns)
    assert len(t2) == 14 and set(t2["convo_type"]) == {"all"}
    assert "| Hypothesis | Estimate | Est.Error | CI.Lower | CI.Upper | BF |" in \
        (out / "tables" / "table2.md").read_text()
    # the star follows the paper's rule on brms's own evidence ratio
    for _, r in t2.iterrows():
        assert r["Star"] == ("*" if r["BF"] > 100 else "†" if r["BF"] > 10 else "") or (
            pd.isna(r["Star"]) and r["BF"] <= 10)
    # an Inf evidence ratio has a finite tail estimate beyond the 1000 draws
    inf = t2[t2["BF"] == float("inf")]
    assert len(inf) and (inf["log10_BF_tail"] > 3).all()
    assert (inf["log10_BF_tail_low"] <= inf["log10_BF_tail"]).all()
    # the frequentist fits sit beside each brms model
    for model in ("1a_all", "1b_all"):
        side = pd.read_csv(out / "tables" / "frequentist" / f"{model}.csv")
        assert set(side["engine"]) == {"brms", "lme4"}
    diag = pd.read_csv(out / "tables" / "diagnostics.csv")
    assert set(diag["model"]) == {"1a_all", "1b_all"} and len(diag) == 4


def test_the_demo_report_opens_whole_in_a_browser(demo, chromium):
    """report.html of real fits in headless Chromium: the 4 embedded figures load, no console
    error, no failed request (tests/support/browser.py)."""
    report = check_page(demo["out"] / "report.html", chromium)
    report.assert_ok(min_images=4)
    assert [i["alt"] for i in report.images] == ["Figure 1a", "Figure 1b", "Figure 2g",
                                                 "Figure 2h"]


def test_demo_recovers_the_simulated_1b_truth(demo):
    """The 7 Table 2(b) generating values: coverage as 95% intervals promise, jointly too.

    "Each inside its interval" would fail one time in three on correct data (7 intervals at
    95%), and "at most one miss" one time in 23 (it did, once the bundled data were rebuilt
    with Table 4's corrected RESPECT_human value: 2 misses, joint chi-square fine). Both
    checks are therefore at the 0.001 level, as the recovery benchmark's: at most 3 misses
    (P(4 or more of 7) = 0.0002 on correct data) and the joint chi-square at 0.999, which has
    the power that a single wrong value needs.
    """
    from scipy.stats import binom, chi2

    rec = pd.read_csv(demo["out"] / "tables" / "truth_recovery.csv")
    assert len(rec) == 7
    misses = int((~rec["within_95"]).sum())
    assert binom.sf(misses - 1, len(rec), 0.05) > 0.001, rec
    assert float((rec["z"] ** 2).sum()) < chi2.ppf(0.999, len(rec)), rec
    # informative intervals: the simulator is calibrated to the paper's uncertainty at full
    # scale, so at the demo's 1/20 scale the SEs are about sqrt(20) = 4.5 times the published
    # ones (RESPECT 0.33, TOXICITY 0.52 measured)
    assert (rec["std_error"] < 0.6).all()
    clear = rec[(rec["conf_low"] > 0) | (rec["conf_high"] < 0)]
    assert len(clear) >= 3 and clear["same_sign"].all()


def test_replicate_on_two_dask_workers_equals_the_one_process_run(demo, tmp_path):
    """``replicate --workers 2``: Analysis 1b with brms, lme4 and statsmodels on a local Dask
    cluster, into a new folder: the cache leaves nothing to compile, the brms and lme4 records
    are the demo's one-process ones (the same draws), statsmodels sits beside them, and a rerun
    resumes all three fits."""
    out = tmp_path / "dask"
    args = ["--demo", "--analyses", "1b", "--engines", "brms,lme4,statsmodels", "--workers", "2",
            "--out", str(out)]
    dask = _run(args, demo["cache"])
    assert "3 task(s) on 2 Dask worker(s)" in dask.stderr
    assert "fits: 3 fitted, 0 resumed" in dask.stdout and "0 compiled in this run" in dask.stderr
    local = {u: json.loads((demo["out"] / "fits" / f"{u}.json").read_text())
             for u in ("1b_all__brms", "1b_all__lme4")}
    remote = {u: json.loads((out / "fits" / f"{u}.json").read_text()) for u in local}
    a, b = local["1b_all__brms"], remote["1b_all__brms"]
    assert a["tidy"] == b["tidy"] and a["hypotheses"] == b["hypotheses"]  # same draws
    # lme4's optimiser ends a hair apart from one R process to the next (as in Rscript)
    a, b = (pd.DataFrame(r["tidy"]) for r in (local["1b_all__lme4"], remote["1b_all__lme4"]))
    assert list(a["term"]) == list(b["term"])
    assert b["estimate"].to_numpy() == pytest.approx(a["estimate"].to_numpy(), rel=1e-5, abs=1e-7)
    assert (out / "fits" / "1b_all__brms.fit.rds").exists()
    t_local = pd.read_csv(demo["out"] / "tables" / "table2.csv")
    t_local = t_local[t_local["model"] == "1b_all"].reset_index(drop=True)
    t_dask = pd.read_csv(out / "tables" / "table2.csv")
    assert len(t_dask) == 7
    pd.testing.assert_frame_equal(t_local, t_dask)  # Table 2 is brms's
    side = pd.read_csv(out / "tables" / "frequentist" / "1b_all.csv")
    assert set(side["engine"]) == {"brms", "lme4", "statsmodels"}
    assert "fits: 0 fitted, 3 resumed" in _run(args, demo["cache"]).stdout


def test_keep_going_reports_a_failed_fit_and_the_next_run_retries_it(demo, tmp_path, monkeypatch):
    import shutil

    from pybrms.errors import EngineError
    from pybrms.papers.kyrychenko2025.replicate import fitting
    from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
    from pybrms.papers.kyrychenko2025.replicate.runner import run
    from pybrms.runs.limits import Limits

    out = tmp_path / "out"
    shutil.copytree(demo["out"], out)
    (out / "fits" / "1b_all__lme4.json").unlink()
    data = bundled_path()
    rn = json.loads((data / "truth.json").read_text())["reasoning_nuance"]
    plan = build_plan(["1a", "1b"], ["brms", "lme4"], quick=True, convo_types=["all"],
                      reasoning_nuance=rn)
    real = fitting.fit_unit

    def failing(unit, *args, **kwargs):
        if unit.name == "1b_all__lme4":
            raise EngineError("lme4 gave up (a failure made by the test)")
        return real(unit, *args, **kwargs)

    monkeypatch.setattr(fitting, "fit_unit", failing)
    here = Limits(isolate=False)  # the failure is injected in this process
    with pytest.raises(EngineError, match="made by the test"):
        run(plan, data, out, quiet=True, limits=here)
    lines = io.StringIO()
    result = run(plan, data, out, stream=lines, keep_going=True, limits=here)
    assert result.failed == {"1b_all__lme4": "EngineError: lme4 gave up (a failure made by the test)"}
    assert sorted(result.resumed) == ["1a_all__brms", "1a_all__lme4", "1b_all__brms"]
    assert "[4/4] 1b_all · lme4 · FAILED after 0:00:00: EngineError: lme4 gave up" in lines.getvalue()
    assert json.loads((out / "run.json").read_text())["failed"] == result.failed
    report = (out / "report.md").read_text()
    assert "## Failed fits" in report and "1b_all__lme4: EngineError: lme4 gave up" in report
    table2 = pd.read_csv(out / "tables" / "table2.csv")
    assert {"1a_all", "1b_all"} <= set(table2["model"])  # the brms tables are all there
    assert not (out / "fits" / "1b_all__lme4.json").exists()

    monkeypatch.undo()
    again = run(plan, data, out, quiet=True)
    assert again.fitted == ["1b_all__lme4"] and again.failed == {}
    assert "Failed fits" not in (out / "report.md").read_text()


def test_loo_comparison_matches_loo_compare(tmp_path):
    """The report's ELPD difference from checkpointed pointwise ELPDs equals R's loo_compare."""
    import pybrms
    from pybrms.papers.kyrychenko2025.replicate.plan import build_plan
    from pybrms.papers.kyrychenko2025.replicate.runner import run

    plan = build_plan(engines=["brms"], specs_dir=Path(__file__).parent / "specs")
    result = run(plan, bundled_path(), tmp_path, quiet=True)
    from pybrms.papers.kyrychenko2025.replicate.tables import loo_table

    loo = loo_table(plan, result.records)  # full precision; the CSV keeps 10 digits
    assert list(loo["comparison"]) == ["llm_random_effect"]
    csv = pd.read_csv(tmp_path / "tables" / "loo.csv")
    assert csv["elpd_diff"].iloc[0] == pytest.approx(loo["elpd_diff"].iloc[0], rel=1e-9)
    fits = {n: pybrms.load(tmp_path / "fits" / f"{n}__brms.fit.rds") for n in ("with_llm", "without_llm")}
    r = pybrms.loo_compare(fits["with_llm"], fits["without_llm"], names=["with_llm", "without_llm"])
    r = r.set_index("model")
    sign = 1.0 if r.index[0] == "with_llm" else -1.0  # loo_compare puts the best model first
    second = r.index[1]
    assert loo["elpd_diff"].iloc[0] == pytest.approx(-sign * r.loc[second, "elpd_diff"], abs=1e-9)
    assert loo["se_diff"].iloc[0] == pytest.approx(r.loc[second, "se_diff"], rel=1e-9)
    rec = result.records["with_llm__brms"]["loo"]
    assert len(rec["pointwise_elpd"]) == result.records["with_llm__brms"]["n_rows"]
    assert "ELPD with vs without" in (tmp_path / "report.md").read_text()
