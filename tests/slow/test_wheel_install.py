"""A wheel built from the checkout works installed anywhere: a fresh venv outside the checkout.

The wheel is built from a copy of only what a build needs (``pyproject.toml``, ``README.md``,
``pybrms/``), installed with its dependencies (constraints.txt's versions) into a new venv, and run
from a folder outside the checkout with no ``PYTHONPATH``: ``pybrms doctor``, one brms fit of the
bundled example and ``pybrms replicate --demo``. The fit and the demo use this session's
compile cache (tests/conftest.py), so Stan programs the other slow tests compiled are reused;
with ``PYBRMS_TEST_CACHE_DIR`` set to a kept folder nothing compiles after the first session.
Measured on 2 cores with both programs cached: about 75 s (build 2 s, venv and install 12 s,
doctor 4 s, fit 6 s, demo 46 s); each program missing from the cache adds a 70-90 s compile.

Also checked here, without R: ``environment.yml`` asks for ``pyproject.toml``'s ranges and
``constraints.txt``'s pins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import install_specs as specs

ROOT = Path(__file__).resolve().parents[2]
#: what a build of the package reads from the checkout
BUILD_INPUTS = ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "pybrms")
#: files pybrms reads at run time, which the wheel must hold
RUNTIME_FILES = (
    "pybrms/r/setup.R",
    "pybrms/r/brms.R",
    "pybrms/r/fit.R",
    "pybrms/r/Makevars",
    "pybrms/papers/kyrychenko2025/comparisons/analysis_1a.toml",
    "pybrms/papers/kyrychenko2025/comparisons/analysis_1b.toml",
    "pybrms/papers/kyrychenko2025/comparisons/published/README.md",
    "pybrms/papers/kyrychenko2025/comparisons/published/table2.csv",
    "pybrms/papers/kyrychenko2025/comparisons/published/table3.csv",
    "pybrms/papers/kyrychenko2025/comparisons/published/table4.csv",
    "pybrms/papers/kyrychenko2025/bundled/README.md",
    "pybrms/papers/kyrychenko2025/bundled/scores.parquet",
    "pybrms/papers/kyrychenko2025/bundled/truth.json",
    "pybrms/examples/bern.csv",
)

#: the slow tier's bernoulli model (tests/slow/conftest.py): same Stan code, so its compiled
#: program is reused when test_brms_exact.py ran first in the session
FIT = """
import json, math, sys
import pandas as pd
import pybrms
from pybrms.resources import examples_dir

d = pd.read_csv(examples_dir() / "bern.csv")
fit = pybrms.brm("y ~ x1 + x2 + (1 | user/conv) + (1 | model)", d, "bernoulli",
                 prior=[pybrms.prior("normal(0, 1e6)", class_="b")], chains=2, iter=600,
                 seed=2024, cores=1, quiet=True, diagnose=False)
fe = fit.fixef()
p = {**fit.provenance, **fit.provenance.get("details", {})}
print(json.dumps({"fixef": json.loads(fe.to_json(orient="records")),
                  "compiled": p["compiled"], "program": p["stan_program"],
                  "draws": len(fit.draws())}))
"""

WHERE = """
import json, sys
import pybrms
from pybrms import resources
from pybrms.papers.kyrychenko2025 import resources as paper
print(json.dumps({"pybrms": pybrms.__file__, "prefix": sys.prefix, "path": sys.path,
                  "r": str(resources.r_dir()), "specs": str(paper.comparisons_dir()),
                  "bundled": str(paper.bundled_dir())}))
"""


def _inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def _run(cmd: list[str], env: dict[str, str], cwd: Path,
         timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def install(tmp_path_factory, clean_env, cache_dir):
    """Build the wheel, make a venv, install it; return paths, the environment and timings."""
    root = tmp_path_factory.mktemp("wheel")
    assert not _inside(root, ROOT)
    timings: dict[str, float] = {}

    src = root / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, src / name)
    t0 = time.perf_counter()
    wheels = root / "wheels"
    build = _ok(_run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w",
                      str(wheels)], clean_env, root, timeout=600))
    timings["build"] = time.perf_counter() - t0
    (wheel,) = wheels.glob("pybrms-*.whl")

    env = {k: v for k, v in clean_env.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYBRMS_R_DIR",
                        "R_MAKEVARS_USER")}
    venv = root / "venv"
    env["PATH"] = os.pathsep.join(
        [str(venv / "bin")]
        + [p for p in env.get("PATH", "").split(os.pathsep) if p and not _inside(p, ROOT)]
    )
    env["PYBRMS_CACHE_DIR"] = str(cache_dir)
    t0 = time.perf_counter()
    _ok(_run([sys.executable, "-m", "venv", str(venv)], env, root))
    # --no-compile: byte-compiling every dependency costs ~10 s; imports compile what they use.
    # -c constraints.txt: the tested set, as a wheel user with R < 4.5 must install it (without
    # it pip takes rpy2-rinterface 3.6.7, which needs R >= 4.5; pybrms doctor says so)
    _ok(_run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-compile",
              "-c", str(ROOT / "constraints.txt"), str(wheel)], env, root, timeout=900))
    timings["venv+install"] = time.perf_counter() - t0
    run = root / "run"
    run.mkdir()
    return {"root": root, "venv": venv, "wheel": wheel, "env": env, "cwd": run,
            "timings": timings, "build_log": build.stdout + build.stderr}


@pytest.mark.slow
def test_wheel_holds_every_runtime_file_and_builds_without_warnings(install):
    import zipfile

    names = set(zipfile.ZipFile(install["wheel"]).namelist())
    missing = [f for f in RUNTIME_FILES if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    # every file of the package as it was built, code and data alike
    src = install["root"] / "src"
    tree = {p.relative_to(src).as_posix() for p in (src / "pybrms").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    assert not tree - names, f"not in the wheel: {sorted(tree - names)}"
    assert not any(n.startswith(("tests/", "r/", "comparisons/")) for n in names)
    assert "project.license` as a TOML table is deprecated" not in install["build_log"]


@pytest.mark.slow
def test_installed_pybrms_imports_nothing_from_the_checkout(install):
    python = str(install["venv"] / "bin" / "python")
    where = json.loads(_ok(_run([python, "-c", WHERE], install["env"], install["cwd"])).stdout)
    venv = install["venv"]
    assert _inside(where["prefix"], venv)
    for key in ("pybrms", "r", "specs", "bundled"):
        assert _inside(where[key], venv) and not _inside(where[key], ROOT), (key, where[key])
    leaks = [p for p in where["path"] if p and _inside(p, ROOT)]
    assert not leaks, leaks


@pytest.mark.slow
def test_doctor_passes_and_says_where_the_r_sources_are(install):
    doctor = str(install["venv"] / "bin" / "pybrms")
    t0 = time.perf_counter()
    proc = _ok(_run([doctor, "doctor"], install["env"], install["cwd"], timeout=300))
    install["timings"]["doctor"] = time.perf_counter() - t0
    assert proc.stdout.strip().endswith("all checks passed"), proc.stdout
    r_line = next(line for line in proc.stdout.splitlines() if "pybrms R sources" in line)
    assert str(install["venv"]) in r_line and "pybrms/r" in r_line
    assert "ok   pybrms R code" in proc.stdout

    # an install whose R sources are gone fails, naming what is missing and where
    empty = install["root"] / "no-r"
    empty.mkdir(exist_ok=True)
    broken = _run([doctor, "doctor"], {**install["env"], "PYBRMS_R_DIR": str(empty)},
                  install["cwd"], timeout=300)
    assert broken.returncode == 1
    line = next(line for line in broken.stdout.splitlines() if "pybrms R sources" in line)
    assert line.startswith("BAD") and "MISSING setup.R, brms.R, fit.R" in line, line
    assert line.endswith(f"Makevars in {empty} ($PYBRMS_R_DIR)"), line


@pytest.mark.slow
def test_brms_fit_from_the_wheel(install):
    python = str(install["venv"] / "bin" / "python")
    t0 = time.perf_counter()
    proc = _ok(_run([python, "-c", FIT], install["env"], install["cwd"]))
    install["timings"]["fit"] = time.perf_counter() - t0
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["draws"] == 600
    assert out["compiled"] in (True, False) and re.fullmatch(r"[0-9a-f]{64}", out["program"])
    assert (Path(install["env"]["PYBRMS_CACHE_DIR"]) / f"{out['program']}.rds").exists()
    terms = {row.get("term", row.get("Parameter")): row for row in out["fixef"]}
    assert {"Intercept", "x1", "x2"} <= set(terms), out["fixef"]
    for row in out["fixef"]:
        numbers = [v for k, v in row.items() if k in ("Estimate", "Est.Error", "Q2.5", "Q97.5")]
        assert len(numbers) == 4 and all(isinstance(v, float) and v == v and abs(v) < 1e6
                                         for v in numbers), row


@pytest.mark.slow
def test_replicate_demo_from_the_wheel(install):
    out = install["root"] / "demo"
    t0 = time.perf_counter()
    proc = _run([str(install["venv"] / "bin" / "pybrms"), "replicate", "--demo", "--quiet",
                 "--out", str(out)], install["env"], install["cwd"])
    install["timings"]["demo"] = time.perf_counter() - t0
    print(f"wheel install timings (s): {json.dumps(install['timings'])}")
    _ok(proc)
    report = (out / "report.md").read_text()
    assert "Table 2" in report
    assert (out / "tables").is_dir() and any((out / "tables").iterdir())


def test_environment_yml_asks_for_what_pyproject_and_constraints_say():
    """No R, no build: part of the fast tier although it lives here, beside the install test.

    Every requirement of pyproject.toml (runtime and the dev extra, which holds the fast one) is
    in environment.yml: from conda-forge under its conda name with pyproject's range, or from
    PyPI (the pip section) pinned to constraints.txt's version, which lies in that range.
    """
    wanted = {**specs.requirements(None), **specs.requirements("dev")}
    conda, pip = specs.environment_specs()
    pins = specs.constraints()
    for name, req in wanted.items():
        if name in pip:
            version = pip[name].removeprefix("==")
            assert pip[name] == f"=={version}", (name, pip[name])
            assert version == pins[name], f"{name}: environment.yml {version}, constraints {pins[name]}"
            assert specs.admits(req, version), (name, version, str(req.specifier))
            continue
        conda_name = specs.CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not environment.yml"
        assert specs.same_range(conda[conda_name], req), (name, conda[conda_name], str(req.specifier))
        assert specs.admits(req, pins[name])  # and constraints.txt's version fits both
    assert set(pip) == {"rpy2", "rpy2-rinterface"}  # conda-forge has no rpy2 3.6 for R 4.2
