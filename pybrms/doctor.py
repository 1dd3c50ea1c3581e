"""``pybrms doctor``: check this install, R, brms, rstan, Boost, lme4, rpy2 and pybrms's own files.

Every check prints one line; a failing one also prints the exact command that fixes it.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import NamedTuple

from . import bridge, resources
from .bridge import load_rpy2
from .cliargs import add_command
from .config import config
from .plugins import GROUP, plugins, settings

APT = "apt-get install -y --no-install-recommends"


class RPackage(NamedTuple):
    """An R package pybrms calls: its Debian package, what needs it, and whether every fit does."""

    deb: str
    needed_by: str
    core: bool = True


#: R package -> where it comes from and what needs it (conda-forge calls each ``r-<lower>``);
#: a missing non-core package breaks only the methods named, not sourcing pybrms's R code
R_PACKAGES = {
    "brms": RPackage("r-cran-brms", "pybrms.brm and every brms fit"),
    "rstan": RPackage("r-cran-rstan", "compiling and sampling brms models"),
    "StanHeaders": RPackage("r-cran-stanheaders", "compiling brms models (rstan's headers)"),
    "posterior": RPackage("r-cran-posterior", "fit.draws, fit.summary, fit.fixef"),
    "loo": RPackage("r-cran-loo", "fit.loo, fit.waic, pybrms.loo_compare"),
    "lme4": RPackage("r-cran-lme4", "the lme4 engine (glmer)"),
    "lmerTest": RPackage("r-cran-lmertest",
                         "the lme4 engine on gaussian models (lmer, Satterthwaite p-values)"),
    "emmeans": RPackage("r-cran-emmeans", "fit.emmeans", core=False),
    "bridgesampling": RPackage("r-cran-bridgesampling", "fit.bayes_factor", core=False),
}

#: the rpy2 pair `make setup` installs (constraints.txt), the newest that loads against R < 4.5
RPY2_TESTED = {"rpy2": "3.6.6", "rpy2-rinterface": "3.6.5"}
#: the ranges pyproject.toml declares (lowest allowed, first excluded)
RPY2_RANGE = {"rpy2": ((3, 6, 6), (3, 7)), "rpy2-rinterface": ((3, 6, 5), (3, 7))}
#: the first versions that call R 4.5's C API (R_getVar, R_ParentEnv, R_ClosureEnv) and so
#: require R >= 4.5: rpy2-rinterface 3.6.6, and rpy2 3.6.7, which requires it; R 4.6 hides
#: functions the older ones call (rpy2's NEWS, its commit 092292ba)
NEEDS_R45 = {"rpy2": (3, 6, 7), "rpy2-rinterface": (3, 6, 6)}
R_NEW_API, R_OLD_API_GONE = (4, 5), (4, 6)
PIN_TESTED = "pip install 'rpy2==3.6.6' 'rpy2-rinterface==3.6.5'"
PIN_NEW = "pip install 'rpy2>=3.6.7,<3.7' 'rpy2-rinterface>=3.6.6,<3.7'"

#: the unrelated project PyPI serves under the name ``pybrms`` (a 2020 pystan wrapper)
PYPI_PYBRMS = {
    "version_prefix": "0.0.",  # 0.0.1 ... 0.0.33 (2020)
    "summary": "Pythonic interface to the brms R package",
    "author": "Adam Haber",
    "modules": ("pybrms.py", "_nbdev.py"),  # in its package folder pybrms/; this one has neither
}
INSTALL_FIX = (
    "pip uninstall -y pybrms, then install this project from its checkout (`make setup`, or "
    "`pip install -c constraints.txt -e <checkout>`) or from a wheel built there "
    "(`pip wheel --no-deps <checkout>`); `pip install pybrms` fetches another project"
)


@dataclass
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    #: a warning: printed with its fix, but not a problem that fails the check
    warn: bool = False


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
        if len(parts) == 2 and parts[1] != "MISSING":
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


def _version(text: str) -> tuple[int, ...]:
    """The numbers of a version string: ``"3.6.5"`` -> ``(3, 6, 5)``, ``"4.2.2"`` -> ``(4, 2, 2)``."""
    return tuple(int(x) for x in re.findall(r"\d+", text))


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _is_ours(dist: md.Distribution) -> bool:
    """Whether ``dist`` is this project: it declares the ``pybrms`` command (``pybrms.cli``)."""
    return any(ep.group == "console_scripts" and ep.name == "pybrms"
               and ep.value.startswith("pybrms.cli") for ep in dist.entry_points)


def _site(dist: md.Distribution) -> str:
    return str(Path(str(dist.locate_file(""))).resolve())


def _origin(dist: md.Distribution) -> str:
    """Where an installed pybrms came from: an editable checkout, or its site folder."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    url = str(direct.get("url", ""))
    if direct.get("dir_info", {}).get("editable") and url.startswith("file://"):
        return f"editable install of {url[len('file://'):]}"
    return f"installed in {_site(dist)}"


def _foreign(dist: md.Distribution) -> str:
    """Say what a ``pybrms`` distribution that is not this project is."""
    meta = dist.metadata
    files = {str(f) for f in dist.files or ()}
    modules = [f"pybrms/{m}" for m in PYPI_PYBRMS["modules"] if f"pybrms/{m}" in files]
    pypi = (
        dist.version.startswith(PYPI_PYBRMS["version_prefix"])
        or meta.get("Summary") == PYPI_PYBRMS["summary"]
        or meta.get("Author") == PYPI_PYBRMS["author"]
        or bool(modules)
    )
    if pypi:
        shown = f", modules {', '.join(modules)}" if modules else ""
        return (f"PyPI's unrelated 'pybrms' {dist.version} (\"{meta.get('Summary')}\" by "
                f"{meta.get('Author')}, a 2020 pystan wrapper{shown}) in {_site(dist)}; "
                "this project is not on PyPI")
    return (f"a 'pybrms' {dist.version} that is not this project (it has no `pybrms` command) "
            f"in {_site(dist)}")


def _install_checks(path: list[str] | None = None, package: Path | None = None) -> list[Check]:
    """Which ``pybrms`` is installed: this project, PyPI's unrelated one, or none (a bare
    checkout on ``PYTHONPATH``, where plugins and the ``pybrms`` command are missing).

    Parameters
    ----------
    path : list of str, optional
        Folders to look for distributions in (default ``sys.path``).
    package : Path, optional
        The folder ``pybrms`` is imported from (default: this module's).
    """
    ours: list[md.Distribution] = []
    foreign: list[md.Distribution] = []
    seen: set[tuple[str, str]] = set()
    found = md.distributions(name="pybrms", **({} if path is None else {"path": path}))
    for dist in found:
        key = (_site(dist), dist.version)
        if key not in seen:
            seen.add(key)
            (ours if _is_ours(dist) else foreign).append(dist)
    package = package or Path(__file__).resolve().parent
    strays = [m for m in PYPI_PYBRMS["modules"] if (package / m).exists()]
    if foreign:
        return [Check("pybrms install", False, "; ".join(map(_foreign, foreign)), INSTALL_FIX)]
    if strays:
        return [Check("pybrms install", False,
                      f"{package} holds {', '.join(strays)}: files of PyPI's unrelated 'pybrms' "
                      "were installed over this one", INSTALL_FIX)]
    if not ours:
        return [Check("pybrms install", False,
                      f"imported from {package} but not installed: no `pybrms` command and no "
                      f"paper plugins (they register as '{GROUP}' entry points)",
                      "pip install -c constraints.txt -e <checkout>  (or `make setup` there)")]
    return [Check("pybrms install", True, f"{ours[0].version}, {_origin(ours[0])}")]


def _in_conda(rscript: str | None) -> bool:
    """A conda environment is active and R is its own (or there is no R yet)."""
    conda = os.environ.get("CONDA_PREFIX")
    return conda is not None and (
        rscript is None or Path(rscript).resolve().is_relative_to(Path(conda).resolve()))


def _r_fix(names: list[str], rscript: str | None) -> str:
    """The command that installs R packages: conda-forge's inside a conda R, else apt's."""
    if _in_conda(rscript):
        return "conda install -c conda-forge " + " ".join(
            "r-base" if n == "R" else f"r-{n.lower()}" for n in names)
    return f"{APT} " + " ".join(
        "r-base r-base-dev" if n == "R" else R_PACKAGES[n].deb for n in names)


def _r_cxx(rscript: str) -> str | None:
    """The C++ compiler R builds with (``R CMD config CXX``: ``g++`` from apt, conda's
    ``x86_64-conda-linux-gnu-c++``), or None if R does not say.
    """
    try:
        out = subprocess.run([str(Path(rscript).with_name("R")), "CMD", "config", "CXX"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split()
    return words[0] if out.returncode == 0 and words else None


def _cxx_check(rscript: str | None) -> Check:
    """The compiler rstan will call is on PATH."""
    cxx = _r_cxx(rscript) if rscript is not None else None
    found = shutil.which(cxx) if cxx else shutil.which("g++") or shutil.which("c++")
    fix = ("conda install -c conda-forge cxx-compiler make" if _in_conda(rscript)
           else f"{APT} g++ make")
    detail = found or (f"{cxx} (R's CXX) not on PATH" if cxx else "none")
    return Check("C++ compiler", found is not None, detail, fix)


def _r_package_checks(versions: dict[str, str], rscript: str | None) -> list[Check]:
    """One line per R package pybrms calls (``versions``: name -> version, absent if missing),
    in :data:`R_PACKAGES` order, with what needs it and the command that installs it.
    """
    return [
        Check(f"R package {pkg}", pkg in versions,
              f"{versions.get(pkg, 'MISSING')} (used for {info.needed_by})", _r_fix([pkg], rscript))
        for pkg, info in R_PACKAGES.items()
    ]


def _rpy2_fix(r_version: tuple[int, ...] | None) -> str:
    if r_version is not None and r_version[:2] >= R_OLD_API_GONE:
        return f"{PIN_NEW}  (R >= 4.6 needs rpy2-rinterface >= 3.6.6)"
    return f"{PIN_TESTED}  (the tested pair, as in constraints.txt; rpy2 >= 3.6.7 needs R >= 4.5)"


def _rpy2_problem(pkg: str, version: tuple[int, ...],
                  r_version: tuple[int, ...] | None) -> str | None:
    """Why this rpy2 (or rpy2-rinterface) cannot work here, or None."""
    low, high = RPY2_RANGE[pkg]
    if not low <= version < high:
        return f"outside pybrms's range >={_dotted(low)},<{_dotted(high)}"
    if r_version is None:
        return None
    r = f"R {_dotted(r_version)}"
    new = version >= NEEDS_R45[pkg]
    if new and r_version[:2] < R_NEW_API:
        return f"needs R >= 4.5 (R_getVar, R_ParentEnv), this is {r}"
    if not new and r_version[:2] >= R_OLD_API_GONE:
        return f"calls R functions {r} no longer has; R >= 4.6 needs rpy2 >= 3.6.7"
    return None


def _rpy2_checks(r_version: tuple[int, ...] | None) -> list[Check]:
    """rpy2 and rpy2-rinterface: installed, inside pybrms's range, and a pair this R loads."""
    checks = []
    for pkg, tested in RPY2_TESTED.items():
        try:
            v = md.version(pkg)
        except md.PackageNotFoundError:
            checks.append(Check(f"Python {pkg}", False, "not installed", _rpy2_fix(r_version)))
            continue
        problem = _rpy2_problem(pkg, _version(v), r_version)
        note = problem or ("the tested version" if v == tested else f"tested: {tested}")
        checks.append(Check(f"Python {pkg}", problem is None, f"{v} ({note})",
                            _rpy2_fix(r_version)))
    return checks


def _settings_check() -> Check:
    """The ``PYBRMS_*`` variables that are set, and any that nothing reads (a typo)."""
    cfg = config()
    known = settings()
    unknown = cfg.unknown(known)
    shown = ", ".join(f"{k}={v}" for k, v in cfg.variables.items()) or "none set"
    if unknown:
        near = {u: get_close_matches(u, list(known), n=1) for u in unknown}
        hint = "; ".join(f"{u}: did you mean {m[0]}?" if m else f"{u}: nothing reads it"
                         for u, m in near.items())
        return Check("PYBRMS_* settings", True, f"{shown}; unknown: {hint}",
                     "rename or unset it; the variables pybrms reads: " + ", ".join(known),
                     warn=True)
    return Check("PYBRMS_* settings", True, f"{shown} (compile cache {cfg.cache_dir})")


def run_checks() -> list[Check]:
    """Run every check; never raises."""
    checks: list[Check] = _install_checks() + [_settings_check()] + _file_checks()
    rscript = shutil.which("Rscript")
    r_version: tuple[int, ...] | None = None
    optional: list[Check] = []  # R packages only single methods need: sourcing works without
    if rscript is None:
        checks.append(Check("R", False, "Rscript not on PATH", _r_fix(["R"], None)))
        versions: dict[str, str] = {}
    else:
        out = subprocess.run([rscript, "--version"], capture_output=True, text=True)
        rv = (out.stderr.strip() or out.stdout.strip()).splitlines()
        m = re.search(r"version (\d+\.\d+\.\d+)", rv[0] if rv else "")
        r_version = _version(m[1]) if m else None
        checks.append(Check("R", True, rv[0] if rv else rscript))
        versions = _r_versions(rscript)
        packages = _r_package_checks(versions, rscript)
        checks.extend(packages)
        optional = [c for c, info in zip(packages, R_PACKAGES.values(), strict=True) if not info.core]
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
    checks.append(_cxx_check(rscript))
    checks.extend(_rpy2_checks(r_version))
    try:
        load_rpy2().r("1 + 1")
        checks.append(Check("rpy2 loads R", True, "embedded R starts"))
    except Exception as exc:  # noqa: BLE001 - report whatever rpy2 raised
        checks.append(Check("rpy2 loads R", False, f"{type(exc).__name__}: {str(exc)[:120]}",
                            _rpy2_fix(r_version)))
        return checks
    # sourcing needs every piece above except the packages single methods need
    if all(c.ok for c in checks if c not in optional):
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
        mark = "!  " if c.warn else "ok " if c.ok else "BAD"
        lines.append(f"{mark}  {c.name:<{width}}  {c.detail}")
        if (not c.ok or c.warn) and c.fix:
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
