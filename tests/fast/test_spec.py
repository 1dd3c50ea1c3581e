"""Spec layer (pure Python, no R): formulas, families, priors, hypotheses, data checks."""

import sys

import numpy as np
import pandas as pd
import pytest

import pybrms
from pybrms.errors import DataError, SpecError
from pybrms.spec.families import parse_family
from pybrms.spec.formula import parse_formula
from pybrms.spec.hypotheses import check_terms, parse_hypothesis
from pybrms.spec.priors import prior, validate_distribution
from pybrms.spec.validate import validate_data


def test_paper_formula_parses_nested_and_crossed():
    f = parse_formula("highest ~ REASONING_NUANCE + TOXICITY + (1 | user_id/conversation_id) + (1 | model_name)")
    assert f.response == "highest"
    assert f.fixed == ("REASONING_NUANCE", "TOXICITY")
    assert [g.factors for g in f.groups] == [("user_id", "user_id:conversation_id"), ("model_name",)]
    assert f.variables == {"highest", "REASONING_NUANCE", "TOXICITY", "user_id", "conversation_id", "model_name"}


def test_trials_cbind_interactions_and_functions():
    f = parse_formula("s | trials(n) ~ x * z + log(w) + (x || g)")
    assert f.addition == {"trials": "n"} and f.response_variables == {"s", "n"}
    assert f.fixed_variables == {"x", "z", "w"}
    assert f.groups[0].correlated is False and f.groups[0].lhs == "x"
    c = parse_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)")
    assert c.is_cbind and c.response_variables == {"incidence", "size"}
    assert parse_formula("log(score) ~ 0 + a:b").has_intercept is False


@pytest.mark.parametrize("bad,msg", [
    ("y x", "exactly one '~'"), ("y ~ x ~ z", "exactly one '~'"), ("~ x", "no response"),
    ("y ~ ", "nothing on the right"), ("y ~ (x", "unbalanced"), ("y ~ x + ", "empty term"),
    ("y | weight w ~ x", "must look like 'trials"), ("y ~ (1 | )", "empty side"),
])
def test_formula_errors_name_the_problem(bad, msg):
    with pytest.raises(SpecError, match=msg.replace("(", r"\(")):
        parse_formula(bad)


def test_families():
    assert parse_family("bernoulli").link == "logit"
    assert parse_family("binomial(link = 'probit')").link == "probit"
    assert parse_family("Gamma").name == "Gamma" and parse_family("poisson('log')").link == "log"
    # any family brms has, as R code; brms judges names and links (no allow-list here)
    f = parse_family("sratio(threshold = 'equidistant')")
    assert (f.name, f.link, f.r_object().code()) == ("sratio", None, "sratio(threshold = 'equidistant')")
    assert parse_family("cumulative('probit')").link == "probit"
    assert parse_family('brmsfamily("cumulative", "logit")').name == "cumulative"
    assert parse_family("custom_family('bb', dpars = c('mu', 'phi'))").link is None
    w = parse_family("weibull")
    assert (w.name, w.response_kind, w.r_object().code()) == ("weibull", None, 'brmsfamily("weibull")')
    assert parse_family("bernoulli").r_object().code() == 'brmsfamily("bernoulli", link = "logit")'
    fam = pybrms.family("cumulative", "probit", threshold="equidistant")
    assert fam.r_object().code() == 'cumulative("probit", threshold = "equidistant")'
    assert fam.link == "probit"
    for bad in ("", "cumulative('probit'", "1 + 2"):
        with pytest.raises(SpecError):
            parse_family(bad)


def test_priors_validate_like_brms():
    p = prior("normal(0, 1e6)", class_="b", coef="x")
    assert p.to_dict()["coef"] == "x"
    for bad, msg in [("normal(0)", "takes 2 arguments"), ("normal(0, -1)", "must be > 0"),
                     ("normal 0 1", "not a distribution"), ("uniform(2, 1)", "lower < upper"),
                     ("normal(0, 1", "not a distribution")]:
        with pytest.raises(SpecError, match=msg.replace("(", r"\(")):
            prior(bad)
    with pytest.raises(SpecError, match="class_ must be a parameter class name"):
        prior("normal(0, 1)", class_="b b")
    # what Python cannot know exactly is brms's to judge (tests/r/test_brms_language.py):
    # unknown distributions (Stan functions from stanvars), names as arguments (stanvars
    # data), classes of families Python does not know
    for fine in ("nromal(0, 1)", "normal(0, prior_sd)", "normal(0, abc)"):
        assert prior(fine).prior == fine
    assert prior("gamma(1, 1)", class_="disc").class_ == "disc"
    with pytest.raises(SpecError, match="'abc' is not a number"):
        validate_distribution("normal(0, abc)", numeric=True)


def test_hypotheses():
    h = parse_hypothesis("x - y < 0")
    assert (h.left, h.op, h.right, h.one_sided, h.terms) == ("x - y", "<", "0", True, ["x", "y"])
    assert parse_hypothesis("youngerTRUE:TOXICITY > 0").terms == ["youngerTRUE:TOXICITY"]
    assert parse_hypothesis("exp(x) = 2").terms == ["x"]
    assert parse_hypothesis("x > 1e6").terms == ["x"] and parse_hypothesis("2.5e-3 * b2 < 1").terms == ["b2"]
    for bad in ["x", "x >> 0", "x == 0", "x >= 0", "> 0", "(x > 0"]:
        with pytest.raises(SpecError):
            parse_hypothesis(bad)
    with pytest.raises(SpecError, match="unknown parameter\\(s\\) z"):
        check_terms([parse_hypothesis("z > 0")], ["Intercept", "x"])


@pytest.fixture()
def df():
    return pd.DataFrame({"y": [0, 1, 1, 0], "x": [0.1, 0.2, 0.3, 0.4], "g": list("aabb"), "n": [1, 2, 3, 4]})


def test_data_checks(df):
    f = parse_formula("y ~ x + (1 | g)")
    validate_data(f, parse_family("bernoulli"), df)
    with pytest.raises(DataError, match="column 'xx' used in the formula is not in the data.*did you mean 'x'"):
        validate_data(parse_formula("y ~ xx + (1 | g)"), parse_family("bernoulli"), df)
    nan = df.assign(x=[0.1, np.nan, 0.3, 0.4])
    with pytest.raises(DataError, match="column 'x' has 1 missing value"):
        validate_data(f, parse_family("bernoulli"), nan)
    with pytest.raises(DataError, match="0/1 response; column 'y'"):
        validate_data(f, parse_family("bernoulli"), df.assign(y=[0, 1, 2, 0]))
    with pytest.raises(DataError, match="exceeds trials 'n'"):
        validate_data(parse_formula("y | trials(n) ~ x"), parse_family("binomial"), df.assign(y=[0, 3, 1, 0]))
    with pytest.raises(DataError, match="needs 'y \\| trials\\(n\\)'"):
        validate_data(parse_formula("y ~ x"), parse_family("binomial"), df)
    with pytest.raises(DataError, match="non-negative integer counts"):
        validate_data(parse_formula("x ~ 1"), parse_family("poisson"), df)
    with pytest.raises(DataError, match="no rows"):
        validate_data(f, parse_family("bernoulli"), df.iloc[:0])


def test_brm_rejects_bad_input_without_starting_r(df):
    import pybrms

    for call, err, msg in [
        (lambda: pybrms.brm("y ~ xx", df, "bernoulli"), DataError, "'xx'"),
        (lambda: pybrms.brm("y ~ x", df.assign(y=[0, 5, 1, 0]), "bernoulli"), DataError, "0/1"),
        (lambda: pybrms.brm("y ~ x", df, "bernoulli", prior=[1.5]), SpecError, "pybrms.prior"),
        (lambda: pybrms.brm("y ~ x", df, "bernoulli", prior="prior(normal(0, 1)"), SpecError,
         "unbalanced"),
        (lambda: pybrms.brm("y ~ x", df, "bernoulli", warmup=2000, iter=1000), SpecError, "warmup"),
        (lambda: pybrms.brm("y ~ x", df, "bernoulli", chains=0), SpecError, "chains"),
    ]:
        with pytest.raises(err, match=msg):
            call()


def test_bad_input_fails_before_r_is_loaded():
    import subprocess

    code = (
        "import sys, pandas as pd, pybrms\n"
        "try:\n    pybrms.brm('y ~ x', pd.DataFrame({'y': [0, 2], 'x': [1.0, 2.0]}), 'bernoulli')\n"
        "except pybrms.DataError as e:\n    print('DataError', e)\n"
        "print('rpy2 loaded:', 'rpy2.robjects' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "DataError family bernoulli needs a 0/1 response" in out
    assert "rpy2 loaded: False" in out


def test_r_missing_gives_install_hint():
    import subprocess

    # simulate a machine without rpy2/R: the import of rpy2 fails inside the bridge
    code = (
        "import sys, pandas as pd\n"
        "sys.modules['rpy2'] = None\n"
        "import pybrms\n"
        "d = pd.DataFrame({'y': [0, 1, 1], 'x': [1.0, 2.0, 3.0]})\n"
        "try:\n    pybrms.brm('y ~ x', d, 'bernoulli')\n"
        "except pybrms.RNotAvailableError as e:\n    print('RNotAvailableError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("RNotAvailableError: cannot load R through rpy2")
    assert "make setup" in out and "pybrms doctor" in out


def test_compare_stays_a_function_after_subpackage_import():
    import pybrms
    import pybrms.compare.cli  # noqa: F401

    assert callable(pybrms.compare) and pybrms.compare.__module__ == "pybrms.compare.table"
