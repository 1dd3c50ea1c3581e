"""compare(): agreement columns, hypotheses table, Markdown and CSV, from hand-built tidy frames."""

import io
import math

import numpy as np
import pandas as pd
import pytest

from pybrms.compare.table import AGREEMENT_COLUMNS, compare, simple_hypothesis
from pybrms.errors import SpecError
from pybrms.fitset import FitSet
from pybrms.results import TIDY_COLUMNS, tidy_frame
from pybrms.spec.hypotheses import parse_hypothesis

MODEL = "y ~ x1 + x2 + (1 | user/conv) + (1 | model)"


def _rows(engine, rows):
    cols = ["term", "estimate", "std_error", "conf_low", "conf_high", "statistic", "p_value"]
    df = pd.DataFrame(rows, columns=cols[: len(rows[0])])
    df["engine"], df["model"], df["conf_level"] = engine, MODEL, 0.95
    return tidy_frame(df)


BRMS = _rows("brms", [("Intercept", -0.70, 0.30, -1.30, -0.12),
                      ("x1", 0.95, 0.18, 0.60, 1.31),
                      ("x2", -1.10, 0.52, -2.12, -0.08)])
LME4 = _rows("lme4", [("Intercept", -0.60, 0.29, -1.17, -0.03, -2.06, 0.039),
                      ("x1", 0.88, 0.175, 0.54, 1.22, 5.05, 4.4e-7),
                      ("x2", -1.07, 0.51, -2.07, -0.07, -2.09, 0.0366)])
VB = _rows("statsmodels-vb", [("x2", 0.10, 0.20, -0.29, 0.49), ("x3", 1.0, 0.1, 0.8, 1.2)])
TIDY = pd.concat([BRMS, LME4, VB], ignore_index=True)
HYPS = ["x1 > 0", "x2 < 0", "x1 - x2 > 0", "0 < x1"]
BRMS_HYP = pd.DataFrame({
    "Hypothesis": ["(x1) > 0", "(x2) < 0", "(x1-x2) > 0", "(x1) > 0"],
    "Estimate": [0.95, -1.10, 2.05, 0.95], "Est.Error": [0.18, 0.52, 0.6, 0.18],
    "CI.Lower": [0.66, -1.95, 1.1, 0.66], "CI.Upper": [1.25, -0.25, 3.0, 1.25],
    "Evid.Ratio": [math.inf, 49.0, 999.0, math.inf], "Post.Prob": [1.0, 0.98, 0.999, 1.0],
    "Star": ["*", "*", "*", "*"],
})


@pytest.fixture(scope="module")
def cmp():
    return compare(TIDY, HYPS, brms_hypotheses=BRMS_HYP)


def _row(table, engine, term):
    r = table[(table.engine == engine) & (table.term == term)]
    assert len(r) == 1
    return r.iloc[0]


def test_table_has_schema_plus_agreement_columns(cmp):
    assert list(cmp.table.columns) == list(TIDY_COLUMNS) + list(AGREEMENT_COLUMNS)
    assert cmp.reference == "brms" and len(cmp.table) == 8
    assert (cmp.table["reference"] == "brms").all()


def test_agreement_numbers(cmp):
    x1 = _row(cmp.table, "lme4", "x1")
    assert x1["diff"] == pytest.approx(-0.07)
    assert x1["diff_se_units"] == pytest.approx(-0.07 / 0.18)  # -0.3889 brms posterior SDs
    assert bool(x1["sign_agrees"]) and bool(x1["ci_overlap"])
    # [0.54, 1.22] & [0.60, 1.31] = [0.60, 1.22]: 0.62 of the shorter 0.68
    assert x1["overlap_fraction"] == pytest.approx(0.62 / 0.68)
    vb = _row(cmp.table, "statsmodels-vb", "x2")
    assert vb["diff_se_units"] == pytest.approx(1.2 / 0.52)
    assert not bool(vb["sign_agrees"]) and bool(vb["ci_overlap"])
    assert vb["overlap_fraction"] == pytest.approx(0.21 / 0.78)
    # the reference's own rows and terms the reference lacks carry no agreement numbers
    ref = _row(cmp.table, "brms", "x1")
    assert math.isnan(ref["diff_se_units"]) and pd.isna(ref["sign_agrees"])
    x3 = _row(cmp.table, "statsmodels-vb", "x3")
    assert math.isnan(x3["diff"]) and pd.isna(x3["ci_overlap"])


def test_hypotheses_side_by_side(cmp):
    h = cmp.hypotheses.set_index("hypothesis")
    assert list(h.index) == HYPS
    assert h.loc["x1 > 0", "brms_post_prob"] == 1.0
    assert h.loc["x2 < 0", "brms_evid_ratio"] == 49.0
    assert h.loc["x1 > 0", "lme4_p_one_sided"] == pytest.approx(2.2e-7)
    assert h.loc["x1 > 0", "lme4_bf_bound"] == pytest.approx(
        1 / (-math.e * 2.2e-7 * math.log(2.2e-7)))
    assert h.loc["x2 < 0", "lme4_p_one_sided"] == pytest.approx(0.0183)
    assert h.loc["x2 < 0", "lme4_bf_bound"] == pytest.approx(
        1 / (-math.e * 0.0183 * math.log(0.0183)))  # 5.025: far below brms's 49
    assert h.loc["0 < x1", "lme4_p_one_sided"] == pytest.approx(2.2e-7)
    # these hand-rounded p-values sit just below the normal ones, so no t fits them: read as z
    assert list(h["lme4_p_test"]) == ["z", "z", "", "z"]
    assert math.isnan(h.loc["x1 - x2 > 0", "lme4_p_one_sided"])  # needs a covariance
    assert h.loc["x1 - x2 > 0", "brms_post_prob"] == 0.999
    # no p-values from the variational Bayes engine, so no columns invented for it
    assert not any(c.startswith("statsmodels-vb") for c in h.columns)
    # long table: brms rows carry post_prob/evid_ratio, lme4 rows the p-value and bound
    b = _row(cmp.table, "brms", "x2")
    assert b["hypothesis"] == "x2 < 0" and b["post_prob"] == 0.98 and b["evid_ratio"] == 49.0
    lm = _row(cmp.table, "lme4", "x2")
    assert lm["p_one_sided"] == pytest.approx(0.0183) and math.isnan(lm["post_prob"])


def test_wide_view(cmp):
    w = cmp.wide.set_index("term")
    assert list(w.index) == ["Intercept", "x1", "x2", "x3"]
    assert w.loc["x1", "brms_estimate"] == 0.95 and w.loc["x1", "lme4_conf_high"] == 1.22
    assert w.loc["x2", "statsmodels-vb_diff_se_units"] == pytest.approx(1.2 / 0.52)
    assert "brms_diff_se_units" not in w.columns


def test_markdown_and_csv(cmp, tmp_path):
    md = cmp.to_markdown()
    assert md.startswith("# Engine comparison (reference: brms)")
    assert "| x1 | 0.95 | 0.6 | 1.31 | 0.88 | 0.54 | 1.22 | -0.3889 | yes | yes |" in md
    assert "| x2 < 0 | x2 | < | -1.1 | 0.98 | 49 | -1.07 | 0.0183 | 5.025 |" in md
    assert "| x1 > 0 | x1 | > | 0.95 | 1 | inf |" in md
    assert "1/(-e p ln p)" in md and "not maximum likelihood" in md
    path = tmp_path / "c.csv"
    text = cmp.to_csv(path)
    assert path.read_text() == text
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == list(cmp.table.columns)
    r = back[(back.engine == "lme4") & (back.term == "x1")].iloc[0]
    assert r["diff_se_units"] == pytest.approx(-0.07 / 0.18, rel=1e-9)
    assert r["hypothesis"] == "x1 > 0"


def test_reference_choice_and_errors():
    c = compare(TIDY, reference="lme4")
    x1 = _row(c.table, "brms", "x1")
    assert x1["diff_se_units"] == pytest.approx(0.07 / 0.175)
    assert len(c.hypotheses) == 0
    assert compare(pd.concat([LME4, VB])).reference == "lme4"  # first engine without brms
    with pytest.raises(SpecError, match="reference engine 'nope'"):
        compare(TIDY, reference="nope")
    with pytest.raises(SpecError, match="exactly one of"):
        compare(TIDY, ["x1 >> 0 > 1"])
    with pytest.raises(TypeError, match="FitSet or a tidy DataFrame"):
        compare([1, 2])


def test_simple_hypothesis_forms():
    assert simple_hypothesis(parse_hypothesis("x1 > 0")) == ("x1", ">", 0.0)
    assert simple_hypothesis(parse_hypothesis("0.5 > x1")) == ("x1", "<", 0.5)
    assert simple_hypothesis(parse_hypothesis("x1 = 0")) is None
    assert simple_hypothesis(parse_hypothesis("x1 - x2 > 0")) is None


class _FakeFit:
    def __init__(self, tidy, warnings=(), hyp=None):
        self._tidy, self.warnings, self._hyp = tidy, list(warnings), hyp
        self.provenance = {"engine": tidy["engine"].iloc[0]}

    def tidy(self, conf_level=0.95, effects=("fixed", "ran_pars")):
        return self._tidy.assign(conf_level=conf_level)

    def hypothesis(self, hyps, alpha=0.05):
        assert alpha == 0.05
        return self._hyp.iloc[: len(hyps)]


def test_fitset_tidy_and_compare():
    fs = FitSet({"brms": _FakeFit(BRMS, hyp=BRMS_HYP),
                 "lme4": _FakeFit(LME4, warnings=["boundary (singular) fit"])}, MODEL)
    t = fs.tidy(conf_level=0.9)
    assert list(t.columns) == list(TIDY_COLUMNS) and len(t) == 6
    assert t.loc[t.engine == "brms", "p_value"].isna().all()  # left empty, not invented
    assert (t["conf_level"] == 0.9).all()
    assert fs.warnings == {"brms": [], "lme4": ["boundary (singular) fit"]}
    assert fs.provenance["lme4"] == {"engine": "lme4"}
    c = compare(fs, ["x1 > 0", "x2 < 0"])
    h = c.hypotheses.set_index("hypothesis")
    assert h.loc["x2 < 0", "brms_evid_ratio"] == 49.0
    assert np.isfinite(h.loc["x2 < 0", "lme4_bf_bound"])
