"""Shared real fits for the slow tier. Each Stan program is compiled once per session.

The plain-R fits (tests/golden/brms/plain_fits.R) start in background processes as soon as
the session needs them, so their compiles overlap with pybrms's on the machine's 2 cores.
"""

import subprocess
from pathlib import Path

import pandas as pd
import pytest

import pybrms

BRMS_GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "brms"
BERN_FORMULA = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
GAUSS_FORMULA = "Reaction ~ Days + (Days | Subject)"
GAUSS_PRIORS = [
    pybrms.prior("normal(0, 1e6)", class_="b"),
    pybrms.prior("normal(0, 1e6)", class_="Intercept"),
    pybrms.prior("student_t(3, 0, 50)", class_="sd"),
    pybrms.prior("student_t(3, 0, 50)", class_="sigma"),
    pybrms.prior("lkj(1)", class_="cor"),
]
BERN_PRIORS = [pybrms.prior("normal(0, 1e6)", class_="b")]


class PlainR:
    """Background `Rscript plain_fits.R OUT which` runs, awaited on demand."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, which: str) -> None:
        if which not in self.procs:
            log = open(self.out / f"{which}.log", "w")  # noqa: SIM115
            self.procs[which] = subprocess.Popen(
                ["Rscript", str(BRMS_GOLDEN / "plain_fits.R"), str(self.out), which],
                stdout=log, stderr=subprocess.STDOUT,
            )

    def result(self, which: str) -> tuple[pd.DataFrame, dict]:
        from pybrms import bridge

        self.start(which)
        rc = self.procs[which].wait(timeout=900)
        assert rc == 0, (self.out / f"{which}.log").read_text()[-3000:]
        draws = bridge.to_pandas(bridge.call("pybrms_read_rds", str(self.out / f"{which}_draws.rds")))
        hyps = bridge.to_py(bridge.call("pybrms_read_rds", str(self.out / f"{which}_hyp.rds")))
        return draws, hyps


@pytest.fixture(scope="session")
def plain_r(tmp_path_factory) -> PlainR:
    runner = PlainR(tmp_path_factory.mktemp("plain_r"))
    for which in ("gaussian", "bernoulli", "gaussian_new"):
        runner.start(which)
    return runner


@pytest.fixture(scope="session")
def bern_data() -> pd.DataFrame:
    return pd.read_csv(BRMS_GOLDEN / "bern.csv")


@pytest.fixture(scope="session")
def sleep_data() -> pd.DataFrame:
    return pd.read_csv(BRMS_GOLDEN / "sleepstudy.csv")


@pytest.fixture(scope="session")
def gauss_fit(plain_r, sleep_data):
    return pybrms.brm(GAUSS_FORMULA, sleep_data, "gaussian", prior=GAUSS_PRIORS, chains=2,
                      iter=600, seed=1234, cores=1, quiet=True, diagnose=False)


@pytest.fixture(scope="session")
def bern_fit(plain_r, bern_data):
    return pybrms.brm(BERN_FORMULA, bern_data, "bernoulli", prior=BERN_PRIORS, chains=2,
                      iter=600, seed=2024, cores=1, quiet=True, diagnose=False)
