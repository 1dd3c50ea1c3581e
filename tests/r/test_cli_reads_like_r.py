"""Every CSV a command or a grid file names is read by R's read.csv, after pybrms's checks.

Reference: brms's ``epilepsy`` written by R's ``write.csv`` and read back by ``read.csv`` in a
separate ``Rscript`` (R 4.2.2, brms 2.18.0), saved with ``saveRDS``; pandas' default parser
gives 4 of its 236 ``zBase`` values (one patient's, at 4 visits) 29 units in the last place
away from R's.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms import cli
from pybrms.compare.cli import EXAMPLES
from pybrms.errors import DataError
from pybrms.rread import read_csv_checked
from pybrms.sensitivity.grid import load_grid, read_table

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def epilepsy(tmp_path_factory):
    """(folder, R's own read.csv of the file) for epilepsy.csv written by R."""
    folder = tmp_path_factory.mktemp("epilepsy")
    path, ref = folder / "epilepsy.csv", folder / "ref.rds"
    subprocess.run(["Rscript", "-e", f'write.csv(brms::epilepsy, "{path}", row.names = FALSE); '
                                     f'saveRDS(read.csv("{path}"), "{ref}")'],
                   check=True, capture_output=True)
    return folder, pybrms.read_rds(ref)


def _assert_r_doubles(frame: pd.DataFrame, r: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, r, check_exact=True)
    for col in ("zAge", "zBase"):
        assert frame[col].to_numpy().tobytes() == r[col].to_numpy().tobytes(), col


def test_grid_reader_gives_r_doubles(epilepsy, tmp_path):
    folder, r = epilepsy
    pandas_default = pd.read_csv(folder / "epilepsy.csv")
    differ = np.flatnonzero(pandas_default["zBase"].to_numpy() != r["zBase"].to_numpy())
    assert len(differ) == 4  # what the grid reader gave before it asked R
    # one patient's zBase, -0.00825083547470935 at its 4 visits: pandas is 29 units in the last
    # place away; R's read.csv gives the correctly rounded double, as Python's float() does
    ulps = ((pandas_default["zBase"] - r["zBase"]) / np.spacing(r["zBase"].abs())).to_numpy()
    assert ulps[differ].tolist() == [29.0] * 4
    assert r["zBase"][differ].tolist() == [float("-0.00825083547470935")] * 4
    _assert_r_doubles(read_table(folder, "epilepsy.csv"), r)
    # the same through a grid file naming the CSV relative to itself
    (folder / "grid.toml").write_text('[base]\ndata = "epilepsy.csv"\n'
                                      'formula = "count ~ zAge + zBase * Trt + (1 | patient)"\n'
                                      'family = "poisson"\n')
    grid = load_grid(folder / "grid.toml")
    (cell,) = grid.cells()
    _assert_r_doubles(grid.load_data(cell.settings["data"], None), r)


def test_checked_reader_is_r_read_csv_and_names_renamed_columns(epilepsy, tmp_path):
    folder, r = epilepsy
    data = read_csv_checked(folder / "epilepsy.csv", columns={"count", "zBase", "patient"})
    _assert_r_doubles(data, r)
    assert data["count"].dtype == np.int32
    p = tmp_path / "names.csv"
    p.write_text("y,dose mg,g\n1.5,1,a\n2.5,2,b\n0.5,3,a\n")
    with pytest.raises(DataError, match=r"column 'dose' used in the formula is not in the file; "
                                        r"its columns are: y, dose.mg, g \(R's read.csv reads "
                                        r"'dose mg' as 'dose.mg': use those names\)"):
        read_csv_checked(p, columns={"y", "dose", "g"})
    assert list(read_csv_checked(p, columns={"y", "dose.mg"}).columns) == ["y", "dose.mg", "g"]
    p.write_text("y,dose mg,g\n1.5,1,a\n2.5,,b\n0.5,3,a\n")
    # a renamed column's cells are checked too, once R has named it
    with pytest.raises(DataError, match=r"names.csv, line 3, column 'dose.mg': empty value"):
        read_csv_checked(p, columns={"y", "dose.mg"})


def test_compare_without_out_writes_to_compare_and_its_lme4_example_runs(epilepsy, tmp_path,
                                                                         monkeypatch, capsys):
    """The third example of ``pybrms compare --help``, as written, then again without --out."""
    folder, r = epilepsy
    monkeypatch.chdir(folder)
    words = shlex.split(EXAMPLES[2][1].replace("\\\n", " "))
    assert words[:2] == ["pybrms", "compare"] and "--out" in words
    assert cli.main(words[1:]) == 0
    assert (folder / "epilepsy-lme4" / "comparison.csv").is_file()
    argv = words[1:words.index("--out")]
    assert cli.main(argv) == 0
    out = folder / "compare"
    table = pd.read_csv(out / "comparison.csv")
    assert {"zBase", "zAge"} <= set(table["term"])
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["data"]["read_by"] == "R read.csv" and prov["data"]["n_rows"] == 236
    capsys.readouterr()
    assert cli.main(argv + ["--quiet"]) == 0  # a second run replaces, and says so
    assert f"replacing the outputs of an earlier run in {out.name}" in capsys.readouterr().err
