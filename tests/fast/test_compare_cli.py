"""`pybrms compare` input handling, fit() dispatch and engine formula checks, all without R."""

import subprocess
import sys

import pandas as pd
import pytest

import pybrms
from pybrms import cli
from pybrms.engines import lme4
from pybrms.engines import statsmodels as sme
from pybrms.errors import DataError, EngineError
from pybrms.fitset import fit
from pybrms.spec.csvfile import scan_csv
from pybrms.spec.model import FitSpec
from pybrms.spec.naming import brms_term_name
from pybrms.spec.validate import check_numeric_columns

FORMULA = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"
COLUMNS = {"y", "x1", "x2", "user", "conv", "model"}
HEADER = "y,x1,x2,user,conv,model\n"
GOOD = ["1,0.5,0.1,u1,c1,m1\n", "0,-0.2,0.3,u1,c2,m2\n", "1,1.5,0.7,u2,c3,m1\n",
        "0,0.1,0.2,u2,c4,m2\n"]


def _csv(tmp_path, lines, name="d.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "".join(lines))
    return p


def test_modules_import_without_r():
    code = ("import sys, pybrms.fitset, pybrms.compare.table, pybrms.compare.cli, "
            "pybrms.plots.forest, pybrms.engines.lme4, pybrms.engines.statsmodels; "
            "bad = [m for m in ('rpy2', 'pymer4') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def _check(path, columns):
    """The Python side of pybrms.rread.read_csv_checked: layout, then the used columns' cells."""
    scan_csv(path).check_cells(columns)


def test_scans_good_csv(tmp_path):
    p = _csv(tmp_path, [GOOD[0], "\n", *GOOD[1:]])
    scan = scan_csv(p)
    assert scan.header == ["y", "x1", "x2", "user", "conv", "model"]
    assert len(scan.rows) == 4 and scan.lines == [2, 4, 5, 6]  # the empty line 3 is skipped
    scan.check_cells(COLUMNS)


def test_csv_wrong_field_count_names_file_line_column(tmp_path):
    p = _csv(tmp_path, [GOOD[0], GOOD[1], "1,1.5,0.7,u2\n", GOOD[3]])
    with pytest.raises(DataError, match=r"d\.csv, line 4: expected 6 fields .* found 4: "
                                        r"column 'conv' \(no\. 5\) is missing"):
        _check(p, COLUMNS)
    p = _csv(tmp_path, [GOOD[0], "0,-0.2,0.3,u1,c2,m2,extra\n"])
    with pytest.raises(DataError, match=r"line 3: .* 1 field\(s\) after the last column 'model'"):
        _check(p, COLUMNS)


def test_csv_line_of_spaces_is_named(tmp_path):
    """R's read.csv reads a line of spaces as a row of missing values (an empty line it skips)."""
    p = _csv(tmp_path, [GOOD[0], "   \n", GOOD[1]])
    with pytest.raises(DataError, match=r"d\.csv, line 3: only spaces; R's read.csv reads"):
        _check(p, COLUMNS)


def test_csv_non_numeric_value_named(tmp_path):
    p = _csv(tmp_path, [GOOD[0], GOOD[1], "\n", "1,abc,0.7,u2,c3,m1\n", GOOD[3]])
    # the blank line 4 is skipped; the bad row is file line 5
    with pytest.raises(DataError, match=r"d\.csv, line 5, column 'x1': value 'abc' is not a "
                                        r"number, but 3 of 4 values in 'x1' are"):
        _check(p, COLUMNS)


def test_csv_empty_or_na_cell_missing_file_no_rows(tmp_path):
    p = _csv(tmp_path, [GOOD[0], "0,,0.3,u1,c2,m2\n"])
    with pytest.raises(DataError, match=r"line 3, column 'x1': empty value"):
        _check(p, COLUMNS)
    p = _csv(tmp_path, [GOOD[0], GOOD[1], "0,0.1,0.3,NA,c2,m2\n"])  # R reads NA as missing
    with pytest.raises(DataError, match=r"line 4, column 'user': empty value"):
        _check(p, COLUMNS)
    _check(p, COLUMNS - {"user"})  # a column the model does not use may have gaps
    with pytest.raises(DataError, match=r"cannot read data file '.*nope\.csv': no such file"):
        _check(tmp_path / "nope.csv", COLUMNS)
    (tmp_path / "h.csv").write_text(HEADER)
    with pytest.raises(DataError, match="has no data rows"):
        _check(tmp_path / "h.csv", COLUMNS)
    (tmp_path / "dup.csv").write_text("y,x,y\n1,2,3\n")
    with pytest.raises(DataError, match=r"line 1: column name 'y' repeats"):
        _check(tmp_path / "dup.csv", COLUMNS)


def test_check_numeric_columns_accepts_factors():
    d = pd.DataFrame({"period": ["1", "2", "3"], "grp": ["a", "b", "c"],
                      "x": ["1.0", "2.5", "n/a"]})
    check_numeric_columns(d, ["period", "grp"])  # numeric-looking labels / text: a factor
    with pytest.raises(DataError, match=r"row 2, column 'x': value 'n/a' is not a number"):
        check_numeric_columns(d, ["x"])


def test_cli_registered_and_unknown_engine(tmp_path, capsys):
    assert "pybrms.compare.cli" in cli.COMMAND_MODULES
    p = _csv(tmp_path, GOOD)
    rc = cli.main(["compare", FORMULA, "--data", str(p), "--family", "bernoulli",
                   "--engines", "lme4,nope", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown engine(s) 'nope'; available engines: brms, lme4, statsmodels" in err
    assert not (tmp_path / "out").exists()


def test_cli_non_numeric_column_is_clear(tmp_path, capsys):
    p = _csv(tmp_path, [GOOD[0], "0,1.2.3,0.3,u1,c2,m2\n", GOOD[2], GOOD[3]])
    rc = cli.main(["compare", FORMULA, "--data", str(p), "--family", "bernoulli",
                   "--engines", "lme4", "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "line 3, column 'x1': value '1.2.3' is not a number" in capsys.readouterr().err


def test_fit_unknown_engine_and_bad_options():
    d = pd.DataFrame({"y": [0, 1], "x1": [0.1, 0.2], "x2": [1.0, 2.0], "user": ["a", "b"],
                      "conv": ["c", "d"], "model": ["m", "n"]})
    with pytest.raises(EngineError, match="available engines: brms, lme4, statsmodels"):
        fit(FORMULA, d, "bernoulli", engines=("brms", "stan"))
    with pytest.raises(EngineError, match="engine_options for engine"):
        fit(FORMULA, d, "bernoulli", engines=("lme4",), engine_options={"brms": {}})
    with pytest.raises(EngineError, match="option 'chains' is taken by none of the engines"):
        fit(FORMULA, d, "bernoulli", engines=("lme4",), chains=2)
    with pytest.raises(EngineError, match="option 'prior' is taken by none"):
        fit(FORMULA, d, "bernoulli", engines=("lme4",), prior=pybrms.prior("normal(0, 1)"))
    with pytest.raises(EngineError, match="engine lme4 has no option.*'cores'.*reml, nagq"):
        fit(FORMULA, d, "bernoulli", engines=("lme4",), engine_options={"lme4": {"cores": 2}})
    assert pybrms.fit is fit


def test_fit_checks_every_engine_before_fitting_any(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("no engine may fit before all have checked the formula")

    monkeypatch.setattr(lme4, "fit", boom)
    d = pd.DataFrame({"y": [1.0, 2.0], "x": [0.1, 0.2], "a": ["p", "q"], "c": ["r", "s"]})
    with pytest.raises(EngineError, match=r"varying slopes \(x \| a\)"):
        fit("y ~ x + (x | a) + (1 | c)", d, engines=("lme4", "statsmodels"))


def test_lme4_translation():
    assert lme4.translate("s | trials(n) ~ x + (1 | a/b) + (1 | c)", "binomial") == (
        "cbind(s, n - s) ~ x + (1 | a/b) + (1 | c)", 'binomial(link = "logit")')
    assert lme4.translate("y ~ x + (1 | a)", "bernoulli") == (
        "y ~ x + (1 | a)", 'binomial(link = "logit")')
    assert lme4.translate("y ~ x + (1 | a)", "bernoulli(link = 'probit')")[1] == (
        'binomial(link = "probit")')
    assert lme4.translate("y ~ x + (x || a)", "poisson") == (
        "y ~ x + (x || a)", 'poisson(link = "log")')
    assert lme4.translate("y ~ x + (1 | a)") == ("y ~ x + (1 | a)", "gaussian")
    assert brms_term_name("(Intercept)") == "Intercept"
    assert brms_term_name("I(x^2)") == "IxE2"
    assert brms_term_name("maleTRUE:TOXICITY") == "maleTRUE:TOXICITY"
    assert brms_term_name("period[T.2]") == "period2" == brms_term_name("C(period)[T.2]")
    assert brms_term_name("male[T.True]") == "maleTRUE"

    def check(formula, family="gaussian"):
        lme4.check(FitSpec.without_data(formula, family))

    with pytest.raises(EngineError, match="link 'identity', not 'log'"):
        check("y ~ x + (1 | a)", "gaussian(link = 'log')")
    with pytest.raises(EngineError, match="needs 'y \\| trials\\(n\\)' or 'cbind"):
        check("y ~ x + (1 | a)", "binomial")
    with pytest.raises(EngineError, match=r"s\(\) is brms-only"):
        check("y ~ s(x) + (1 | a)")


def test_statsmodels_plans():
    p = sme.plan("y ~ x + (Days | Subject)")
    assert (p.groups, p.re_formula, p.vc) == ("Subject", "~Days", {})
    p = sme.plan("y ~ x + (1 | a/b/c)")
    assert p.groups == "a" and p.re_formula == "1"
    assert p.vc == {"a:b": "0 + C(_pybrms_a_b)", "a:b:c": "0 + C(_pybrms_a_b_c)"}
    assert p.combined == {"_pybrms_a_b": ["a", "b"], "_pybrms_a_b_c": ["a", "b", "c"]}
    p = sme.plan("y ~ x + (1 | a) + (1 | c)")
    assert (p.groups, p.re_formula) == ("_pybrms_all", "0")
    assert p.vc == {"a": "0 + C(a)", "c": "0 + C(c)"}
    p = sme.plan("y ~ x + (1 | u/c) + (1 | m)", "bernoulli")
    assert p.kind == "vb" and p.vc == {"u": "0 + C(u)", "u:c": "0 + C(_pybrms_u_c)",
                                        "m": "0 + C(m)"}
    assert sme.brms_term_name("period[T.2]") == "period2"
    assert sme.brms_term_name("male[T.True]:x") == "maleTRUE:x"
    assert sme.brms_term_name("C(g)[T.b]") == "gb"
