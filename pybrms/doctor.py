"""``pybrms doctor``: check R, brms, rstan, Boost, lme4, rpy2 and pybrms's own files.

Every check prints one line; a failing one also prints the exact command that fixes it.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import bridge, resources
from .bridge import load_rpy2
from .cliargs import add_command
from .config import config
from .plugins import plugins

APT = "apt-get install -y --no-install-recommends"
#: R package -> (Debian package, why pybrms needs it)
R_PACKAGES = {
    "brms": ("r-cran-brms", "Bayesian models"),
    "rstan": ("r-cran-rstan", "Stan backend"),
    "StanHeaders": ("r-cran-stanheaders", "Stan headers"),
    "posterior": ("r-cran-posterior", "draws and summaries"),
    "loo": ("r-cran-loo", "LOO/ELPD"),
    "lme4": ("r-cran-lme4", "frequentist GLMMs"),
    "lmerTest": ("r-cran-lmertest", "Satterthwaite p-values for lmer"),
}
#: Python package -> pinned version (the set that works with Debian's R 4.2)
PY_PINS = {"rpy2": "3.6.6", "rpy2-rinterface": "3.6.5"}


@dataclass
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _r_versions(rscript: str) -> dict[str, str]:
    pkgs = ", ".join(f"'{p}'" for p in R_PACKAGES)
    code = (
        f"for (p in c({pkgs})) cat(p, if (nzchar(system.file(package = p))) "
        "as.character(packageVersion(p)) else 'MISSING', '\\n'); "
        "cat('BH', nzchar(system.file('include', package = 'BH')), '\\n')"
    )
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, timeout=120)
    versions = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            versions[parts[0]] = parts[1]
    return versions


REINSTALL = (
    "pip install --force-reinstall --no-deps <a pybrms wheel, or the repository folder>  "
    "(`pip wheel .` in the repository builds a wheel that holds every file pybrms reads)"
)


def _file_checks() -> list[Check]:
    """Where pybrms reads its R sources and data files from, and whether they are all there
    (its own and every plugin's).
    """
    try:
        r_dir = resources.r_dir()
        files = dict(resources.DATA_FILES)
        for plugin in plugins():
            files.update(plugin.data_files)
        missing = resources.missing_files(files)
    except Exception as exc:  # noqa: BLE001 - a broken install can fail in many ways
        return [Check("pybrms files", False, f"{type(exc).__name__}: {exc}", REINSTALL)]
    overridden = config().r_dir is not None
    lost_r = missing.pop(str(r_dir), [])
    where = f"{r_dir}{' ($PYBRMS_R_DIR)' if overridden else ''}"
    r_fix = (
        f"point PYBRMS_R_DIR at a folder holding {', '.join(resources.r_sources())}, or unset it"
        if overridden
        else REINSTALL
    )
    checks = [
        Check(
            "pybrms R sources",
            not lost_r,
            f"MISSING {', '.join(lost_r)} in {where}" if lost_r else f"read from {where}",
            r_fix,
        )
    ]
    package = Path(__file__).resolve().parent
    lost = [f"{folder}/{name}" for folder, names in missing.items() for name in names]
    checks.append(
        Check(
            "pybrms data files",
            not lost,
            f"MISSING {', '.join(lost)} in {package}"
            if lost
            else f"examples and plugin files ({', '.join(p.name for p in plugins()) or 'no plugin'})"
                 f" in {package}",
            REINSTALL,
        )
    )
    return checks


def run_checks() -> list[Check]:
    """Run every check; never raises."""
    checks: list[Check] = _file_checks()
    rscript = shutil.which("Rscript")
    if rscript is None:
        checks.append(Check("R", False, "Rscript not on PATH", f"{APT} r-base r-base-dev"))
        versions: dict[str, str] = {}
    else:
        rv = subprocess.run([rscript, "--version"], capture_output=True, text=True).stderr.strip()
        rv = rv or subprocess.run([rscript, "--version"], capture_output=True, text=True).stdout
        checks.append(Check("R", True, rv.splitlines()[0] if rv else rscript))
        versions = _r_versions(rscript)
        for pkg, (deb, why) in R_PACKAGES.items():
            v = versions.get(pkg, "MISSING")
            checks.append(Check(f"R package {pkg}", v != "MISSING", f"{v} ({why})", f"{APT} {deb}"))
    boost_ok = versions.get("BH") == "TRUE" or Path("/usr/include/boost/version.hpp").exists()
    checks.append(
        Check(
            "Boost headers",
            boost_ok,
            "BH package"
            if versions.get("BH") == "TRUE"
            else "/usr/include/boost (used via rstan_options(boost_lib))",
            f"{APT} libboost-dev",
        )
    )
    cxx = shutil.which("g++") or shutil.which("c++")
    checks.append(Check("C++ compiler", cxx is not None, cxx or "none", f"{APT} g++ make"))
    for pkg, pin in PY_PINS.items():
        try:
            v = md.version(pkg)
            checks.append(
                Check(
                    f"Python {pkg}", v == pin, f"{v} (pinned {pin})", f"pip install '{pkg}=={pin}'"
                )
            )
        except md.PackageNotFoundError:
            checks.append(
                Check(f"Python {pkg}", False, "not installed", f"pip install '{pkg}=={pin}'")
            )
    try:
        load_rpy2().r("1 + 1")
        checks.append(Check("rpy2 loads R", True, "embedded R starts"))
    except Exception as exc:  # noqa: BLE001 - report whatever rpy2 raised
        checks.append(
            Check(
                "rpy2 loads R",
                False,
                f"{type(exc).__name__}: {str(exc)[:120]}",
                "pip install rpy2==3.6.6 rpy2-rinterface==3.6.5 (newer rpy2 needs R >= 4.5)",
            )
        )
        return checks
    if all(c.ok for c in checks):  # sourcing needs every piece above
        checks.append(_r_code_check())
    return checks


def _r_code_check() -> Check:
    """Source pybrms's R files in the embedded R and load brms/rstan, as every fit does."""
    try:
        bridge.ensure_r()
        makevars = bridge.to_py(bridge.call("pybrms_versions")).get("makevars") or "none"
        return Check("pybrms R code", True, f"sourced; brms and rstan loaded; Makevars {makevars}")
    except Exception as exc:  # noqa: BLE001 - report whatever sourcing raised
        return Check("pybrms R code", False, f"{type(exc).__name__}: {str(exc)[:200]}", REINSTALL)


def report(checks: list[Check]) -> str:
    """Format checks as an aligned table with fixes for failures."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'ok ' if c.ok else 'BAD'}  {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':5}{'':<{width}}  fix: {c.fix}")
    bad = sum(not c.ok for c in checks)
    lines.append("all checks passed" if not bad else f"{bad} problem(s); run the fix lines above")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Print the report; exit code 1 if anything is missing."""
    checks = run_checks()
    print(report(checks))
    return 0 if all(c.ok for c in checks) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pybrms doctor``."""
    p = add_command(
        subparsers, "doctor",
        help="check R, brms, rstan, Boost, lme4, rpy2 and pybrms's files",
        description="Check everything a fit needs: pybrms's own files, R, the R packages "
                    "(brms, rstan, lme4...), Boost headers, a C++ compiler, the pinned rpy2, "
                    "and that embedded R starts and sources pybrms's R code. Prints one line "
                    "per check and, under each failing one, the command that fixes it; exit "
                    "status 1 if anything is missing. Writes nothing.",
        examples=[("check the installation", "pybrms doctor")],
    )
    p.set_defaults(func=main)
