"""Read the install metadata of the checkout: pyproject's ranges, constraints.txt's pins,
environment.yml and the conda recipe (its jinja lines rendered the way conda-build would for
the few variables it uses), and map pip names to conda-forge's.

Used by tests/fast/test_install_metadata.py and tests/slow/test_wheel_install.py (whose
environment test is fast too).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]

#: pip name -> conda-forge name, where they differ (rpy2-rinterface ships inside conda's rpy2)
CONDA_NAMES = {
    "dask": "dask-core",
    "matplotlib": "matplotlib-base",
    "rpy2-rinterface": "rpy2",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(group: str | None = None, python: str = "3.11") -> dict[str, Requirement]:
    """pyproject's requirements (``group``: None for ``dependencies``, else an extra), those whose
    marker holds on ``python``, by canonical name."""
    p = project()
    lines = p["dependencies"] if group is None else p["optional-dependencies"][group]
    env = {**default_environment(), "python_version": python, "python_full_version": f"{python}.0"}
    out = {}
    for line in lines:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            out[canonical(req.name)] = req
    return out


def all_requirements(python: str = "3.11") -> dict[str, Requirement]:
    """Runtime requirements and every extra's."""
    out = dict(requirements(None, python))
    for extra in project()["optional-dependencies"]:
        out.update(requirements(extra, python))
    return out


def constraints() -> dict[str, str]:
    """constraints.txt: canonical name -> pinned version (every line must be ``name==version``)."""
    pins = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)", line)
        assert m, f"constraints.txt: not a name==version pin: {raw!r}"
        assert canonical(m[1]) not in pins, f"constraints.txt pins {m[1]} twice"
        pins[canonical(m[1])] = m[2]
    return pins


def conda_spec(entry: str) -> tuple[str, str]:
    """``"pandas >=2,<3"`` -> ``("pandas", ">=2,<3")``; ``"r-brms=2.18.0"`` -> ``("r-brms", "=2.18.0")``."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", entry)
    assert m, entry
    return canonical(m[1]), m[2].replace(" ", "")


def clauses(spec: str) -> set[str]:
    """The comparison clauses of a specifier, order-free (``">=2,<3"`` -> ``{">=2", "<3"}``)."""
    return {c for c in spec.replace(" ", "").split(",") if c}


def same_range(conda: str, req: Requirement) -> bool:
    """A conda spec and a pip requirement allow the same versions (written the same way)."""
    return clauses(conda) == clauses(str(req.specifier))


def admits(req: Requirement, version: str) -> bool:
    return SpecifierSet(str(req.specifier)).contains(version, prereleases=True)


def r_version(text: str) -> tuple[int, ...]:
    """An R package version as conda-forge or R writes it: ``"1.1_31"``, ``"1.1-31"``,
    ``"1.1.31"`` -> ``(1, 1, 31)``."""
    return tuple(int(x) for x in re.findall(r"\d+", text))


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def environment_specs() -> tuple[dict[str, str], dict[str, str]]:
    """environment.yml's conda packages and its pip packages: canonical name -> spec."""
    conda, pip = {}, {}
    for dep in environment()["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, spec = conda_spec(line)
                pip[name] = spec
        else:
            name, spec = conda_spec(dep)
            conda[name] = spec
    return conda, pip


#: conda-build variables the recipe uses that come from conda-forge's global pinning
RECIPE_VARIABLES = {"PYTHON": "python", "python_min": "3.10"}


def render_recipe(text: str, variables: dict[str, str] | None = None) -> str:
    """Render recipe/meta.yaml's jinja the way conda-build does for what it uses: ``{% set %}``
    lines and ``{{ name }}`` / ``{{ name|lower }}`` expressions; anything else is an error."""
    env = {**RECIPE_VARIABLES, **(variables or {})}
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"\s*\{%\s*set\s+(\w+)\s*=\s*\"([^\"]*)\"\s*%\}\s*", line)
        if m:
            env[m[1]] = m[2]
            continue
        assert "{%" not in line, f"jinja statement the test cannot render: {line!r}"

        out.append(re.sub(r"\{\{(.*?)\}\}", lambda m, line=line: _expr(m[1], env, line), line))
    return "\n".join(out) + "\n"


def _expr(text: str, env: dict[str, str], line: str) -> str:
    name, *filters = [p.strip() for p in text.split("|")]
    assert name in env, f"unknown jinja variable {name!r} in {line!r}"
    value = env[name]
    for f in filters:
        assert f == "lower", f"unknown jinja filter {f!r} in {line!r}"
        value = value.lower()
    return value


def recipe() -> dict:
    return yaml.safe_load(render_recipe((ROOT / "recipe" / "meta.yaml").read_text()))
