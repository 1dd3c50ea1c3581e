"""The install metadata agrees with itself: pyproject's tested ranges, constraints.txt's pins (what
`make setup` installs), the conda recipe and environment.yml, and what `pybrms doctor` checks.

No conda channel is reachable where this runs, so the recipe is validated, not built: its YAML
parses once the jinja lines are rendered, every runtime requirement of pyproject has a conda-forge
counterpart with the same range, and every R package doctor checks is a run requirement no older
than the version pybrms is tested with.
"""

from __future__ import annotations

import re

import pytest

import pybrms
import pybrms.doctor as doctor
from tests.support import install_specs as specs

#: R package versions checked in conda-forge's feedstock history (git log of
#: conda-forge/r-<name>-feedstock, 2026-12-05) to have had linux-64 builds for r-base 4.2:
#: the version's recipe with .ci_support/linux_64_r_base4.2.yaml in the same tree
CONDA_FORGE_R42 = {
    "r-brms": "2.18.0",  # build 1, "Rebuild for r-base 4.2" (2022-10-20)
    "r-rstan": "2.21.7",  # build 1 (2022-10-20)
    "r-stanheaders": "2.21.0_7",  # build 1 (2023-02-03)
    "r-lme4": "1.1_31",  # build 0 (2022-11-01)
    "r-lmertest": "3.1_3",  # builds 1-2
    "r-emmeans": "1.8.4_1",  # build 0 (2023-01-31)
    "r-bridgesampling": "1.1_2",  # builds 1-2
    "r-posterior": "1.4.0",  # build 0 (2023-02-23)
    "r-loo": "2.5.1",  # build 1
}


def test_pyproject_declares_ranges_not_pins():
    for group in [None, *specs.project()["optional-dependencies"]]:
        for name, req in specs.requirements(group).items():
            ops = {s.operator for s in req.specifier}
            assert ops, f"{name} has no version range"
            assert not ops & {"==", "===", "~="}, f"{name} is pinned in pyproject.toml: {req}"
            assert ">=" in ops, f"{name} has no tested lower bound: {req}"
    # nothing resolves the name pybrms from an index (PyPI's pybrms is another project)
    assert "pybrms" not in specs.all_requirements()


def test_constraints_pin_every_requirement_inside_its_range():
    pins = specs.constraints()
    assert "pybrms" not in pins and "pip" not in pins and "setuptools" not in pins
    for name, req in specs.all_requirements().items():
        assert name in pins, f"{name} is required but constraints.txt does not pin it"
        assert specs.admits(req, pins[name]), f"constraints.txt's {name}=={pins[name]} is outside {req}"
    # the rpy2 pair is the one doctor calls tested, which loads against Debian's R 4.2
    assert {k: pins[k] for k in doctor.RPY2_TESTED} == doctor.RPY2_TESTED
    assert doctor._rpy2_problem("rpy2-rinterface", specs.r_version(pins["rpy2-rinterface"]),
                                (4, 2, 2)) is None
    # and dask-jobqueue, which examples/cluster needs
    assert "dask-jobqueue" in pins


def test_doctor_rpy2_range_is_pyprojects():
    reqs = specs.requirements()
    for pkg, (low, high) in doctor.RPY2_RANGE.items():
        assert specs.clauses(str(reqs[pkg].specifier)) == {
            f">={'.'.join(map(str, low))}", f"<{'.'.join(map(str, high))}"}


def test_setup_installs_with_the_constraints():
    setup = (specs.ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r'pip install .*-c "?\$CONSTRAINTS"? .*-e "\.\[dev\]"', setup), setup
    assert "constraints.txt" in setup
    makefile = (specs.ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): .*constraints\.txt", makefile, re.M)


def test_license_file_is_mit_as_pyproject_says():
    assert specs.project()["license"] == "MIT"
    text = (specs.ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 pybrms contributors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text


@pytest.fixture(scope="module")
def recipe():
    return specs.recipe()


def _conda(entries: list[str]) -> dict[str, str]:
    out = {}
    for entry in entries:
        name, spec = specs.conda_spec(entry)
        assert name not in out, f"{name} listed twice"
        out[name] = spec
    return out


def test_recipe_renders_and_names_this_project(recipe):
    p = specs.project()
    assert recipe["package"] == {"name": "pybrms", "version": p["version"]}
    assert p["version"] == pybrms.__version__
    assert recipe["source"] == {"path": ".."}  # this checkout: PyPI's pybrms is another project
    assert recipe["build"]["noarch"] == "python"
    assert recipe["build"]["script"] == "python -m pip install . -vv --no-deps --no-build-isolation"
    assert recipe["build"]["entry_points"] == [f"{k} = {v}" for k, v in p["scripts"].items()]
    assert recipe["about"]["license"] == p["license"]
    assert (specs.ROOT / "recipe" / recipe["source"]["path"] / recipe["about"]["license_file"]).is_file()
    assert _conda(recipe["requirements"]["host"])["python"] == "3.11"  # python_min
    assert _conda(recipe["requirements"]["run"])["python"] == ">=3.11"
    assert p["requires-python"] == ">=3.11"


def test_recipe_jinja_rendering_refuses_what_it_cannot_render():
    with pytest.raises(AssertionError, match="unknown jinja variable 'cran_mirror'"):
        specs.render_recipe("url: {{ cran_mirror }}/x\n")
    with pytest.raises(AssertionError, match="cannot render"):
        specs.render_recipe("{% if win %}\n")
    assert specs.render_recipe('{% set v = "1.2" %}\nversion: {{ v }}\nn: {{ PYTHON }}\n') == (
        "version: 1.2\nn: python\n")


def test_recipe_runs_on_pyprojects_ranges(recipe):
    run = _conda(recipe["requirements"]["run"])
    for python in ("3.11", "3.12"):
        for name, req in specs.requirements(None, python).items():
            conda = specs.CONDA_NAMES.get(name, name)
            assert conda in run, f"{name} ({conda} on conda-forge) is not a run requirement"
            if conda != name:  # rpy2-rinterface ships inside conda-forge's rpy2
                continue
            assert specs.same_range(run[conda], req), (name, run[conda], str(req.specifier))
    # the fast extra: allowed, not installed (conda has no extras)
    constrained = _conda(recipe["requirements"]["run_constrained"])
    fast = specs.requirements("fast")
    assert set(constrained) == set(fast)
    for name, req in fast.items():
        assert specs.same_range(constrained[name], req), (name, constrained[name], req)


def test_recipe_has_every_r_package_doctor_checks_no_older_than_tested(recipe):
    run = _conda(recipe["requirements"]["run"])
    conda_env, _ = specs.environment_specs()
    for pkg in doctor.R_PACKAGES:
        name = f"r-{pkg.lower()}"
        assert name in run, f"R package {pkg} (doctor checks it) is not a run requirement"
        floor = re.fullmatch(r">=([0-9._]+)", run[name])
        assert floor, (name, run[name])
        # the floor is the tested version, the one environment.yml pins
        assert floor[1] == conda_env[name].lstrip("="), (name, run[name], conda_env[name])
    assert run["r-base"] == ">=4.2"
    for tool in ("r-bh", "cxx-compiler", "make"):  # rstan compiles at run time
        assert tool in run


def test_recipe_tests_run_the_cli_and_doctor(recipe):
    assert recipe["test"]["commands"] == ["pip check", "pybrms --version", "pybrms doctor"]
    for module in recipe["test"]["imports"]:
        assert (specs.ROOT / module.replace(".", "/")).is_dir() or (
            specs.ROOT / f"{module.replace('.', '/')}.py").is_file(), module


def test_environment_pins_r_versions_conda_forge_built_for_r42():
    conda, pip = specs.environment_specs()
    assert specs.environment()["channels"] == ["conda-forge"]
    assert conda["r-base"] == "=4.2" and conda["python"] == "=3.11"
    r_pins = {k: v.lstrip("=") for k, v in conda.items() if k.startswith("r-") and v}
    r_pins.pop("r-base")
    assert r_pins == CONDA_FORGE_R42
    assert {f"r-{p.lower()}" for p in doctor.R_PACKAGES} == set(CONDA_FORGE_R42)
    # the rpy2 pair from PyPI is one doctor accepts with R 4.2
    for pkg, spec in pip.items():
        assert doctor._rpy2_problem(pkg, specs.r_version(spec), (4, 2, 2)) is None


def test_cli_version(capsys):
    from pybrms import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"pybrms {pybrms.__version__}\n"
