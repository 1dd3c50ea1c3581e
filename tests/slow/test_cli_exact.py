"""``pybrms compare --data file.csv`` draws what the R script draws.

brms's ``epilepsy`` written by R's ``write.csv``; the same Poisson model fitted three ways:
``pybrms compare ... --engines brms --draws`` (the command line), ``pybrms.brm(...,
data="epilepsy.csv")`` (the API) and a plain ``Rscript`` ``brm()`` on ``read.csv`` of the file
(tests/golden/brms/kinds.R, kind ``poisson_csv``; R 4.2.2, brms 2.18.0, rstan 2.21.7). pybrms
compiles one Stan program for the first two; the plain-R fit runs in the background meanwhile.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import bridge, cli

pytestmark = pytest.mark.slow

KINDS_R = Path(__file__).resolve().parent.parent / "golden" / "brms" / "kinds.R"
FORMULA = "count ~ zAge + zBase * Trt + (1 | patient)"
RUN = dict(chains=2, iter=300, seed=16, cores=1)


def _identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    x, y = a.to_numpy(float), b.to_numpy(float)
    assert x.shape == y.shape == (300, a.shape[1])
    diff = np.argwhere(x != y)
    assert diff.size == 0, f"{len(diff)} draws differ, first at {diff[:3].tolist()}"


def test_compare_draws_equal_the_api_and_rscript(tmp_path):
    csv = tmp_path / "epilepsy.csv"
    subprocess.run(["Rscript", "-e", f'write.csv(brms::epilepsy, "{csv}", row.names = FALSE)'],
                   check=True, capture_output=True)
    log = open(tmp_path / "r.log", "w")  # noqa: SIM115
    plain = subprocess.Popen(["Rscript", str(KINDS_R), str(tmp_path), "poisson_csv", str(csv)],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        api = pybrms.brm(FORMULA, str(csv), "poisson", quiet=True, diagnose=False, **RUN)
        program = api.provenance["details"]["stan_program"]

        out = tmp_path / "cmp"
        argv = ["compare", FORMULA, "--data", str(csv), "--family", "poisson", "--engines",
                "brms", "--chains", "2", "--iter", "300", "--seed", "16", "--cores", "1",
                "--draws", "--quiet", "--out", str(out)]
        assert cli.main(argv) == 0
        details = json.loads((out / "provenance.json").read_text())["fits"]["brms"]["details"]
        assert details["stan_program"] == program and details["compiled"] is False  # one program
        from_cli = pd.read_csv(out / "draws-brms.csv", float_precision="round_trip")
        _identical(from_cli, api.draws())

        assert plain.wait(timeout=1800) == 0, (tmp_path / "r.log").read_text()[-3000:]
        r_draws = bridge.to_pandas(bridge.call("pybrms_read_rds",
                                               str(tmp_path / "poisson_csv_draws.rds")))
        _identical(api.draws(), r_draws)

        # what the command line read before: pandas' parser, 4 zBase values off in the last
        # bits, and chains that are not R's
        pandas_data = pd.read_csv(csv)
        assert (pandas_data["zBase"] != pybrms.read_csv(csv)["zBase"]).sum() == 4
        old = pybrms.brm(FORMULA, pandas_data, "poisson", quiet=True, diagnose=False, **RUN)
        assert old.provenance["details"]["stan_program"] == program
        assert (old.draws()["b_zBase"].to_numpy() != r_draws["b_zBase"].to_numpy()).any()
    finally:
        if plain.poll() is None:
            plain.kill()
        log.close()
