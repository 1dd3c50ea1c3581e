"""Agreement metrics and the p-value / Bayes-factor-bound functions, against hand-computed numbers."""

import math

import numpy as np
import pandas as pd
import pytest

from pybrms.compare import agreement as ag


def test_diff_in_se():
    # (1.2 - 1.0) / 0.1 = 2; (0.7 - 1.0) / 0.2 = -1.5; zero SE gives NaN, not inf
    out = ag.diff_in_se([1.2, 0.7, 3.0], [1.0, 1.0, 1.0], [0.1, 0.2, 0.0])
    np.testing.assert_allclose(out[:2], [2.0, -1.5])
    assert math.isnan(out[2])


def test_sign_agrees():
    out = ag.sign_agrees([0.5, -0.2, 0.1, 0.0, np.nan], [2.0, 0.3, 0.4, 0.0, 1.0])
    assert out.tolist() == [True, False, True, True, False]


def test_intervals_overlap_and_fraction():
    lo1, hi1 = [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 2.0, 4.0]
    lo2, hi2 = [1.0, 1.5, 1.0, 1.0], [2.0, 2.0, 5.0, 2.0]
    assert ag.intervals_overlap(lo1, hi1, lo2, hi2).tolist() == [True, False, True, True]
    # touching: 0 length; disjoint: 0; [0,2]&[1,5] -> 1 / min(2, 4) = 0.5; nested -> 1
    np.testing.assert_allclose(ag.overlap_fraction(lo1, hi1, lo2, hi2), [0.0, 0.0, 0.5, 1.0])
    assert ag.intervals_overlap([np.nan], [1.0], [0.0], [1.0]).tolist() == [False]


def test_one_sided_p_from_two_sided():
    # two-sided p = 0.04 with t = +2.1: P(beta > 0) test gives 0.02, the other direction 0.98
    assert ag.one_sided_p_from_two_sided(0.04, 2.1, ">") == pytest.approx(0.02)
    assert ag.one_sided_p_from_two_sided(0.04, 2.1, "<") == pytest.approx(0.98)
    assert ag.one_sided_p_from_two_sided(0.04, -2.1, "<") == pytest.approx(0.02)
    with pytest.raises(ValueError, match="direction"):
        ag.one_sided_p_from_two_sided(0.04, 2.1, "=")


def test_one_sided_p_wald():
    # z = (1.0 - 0) / 0.5 = 2 -> 1 - Phi(2) = 0.022750131948179195
    assert ag.one_sided_p_wald(1.0, 0.5, ">") == pytest.approx(0.022750131948179195, rel=1e-12)
    assert ag.one_sided_p_wald(1.0, 0.5, "<") == pytest.approx(1 - 0.022750131948179195)
    # against a non-zero value: z = (1.0 - 0.5) / 0.25 = 2
    assert ag.one_sided_p_wald(1.0, 0.25, ">", value=0.5) == pytest.approx(0.022750131948179195)


def test_bayes_factor_bound():
    # 1 / (-e * 0.05 * ln 0.05) = 2.456023486604883; for p = 0.001: 53.25600376880312
    assert ag.bayes_factor_bound(0.05) == pytest.approx(2.456023486604883, rel=1e-12)
    np.testing.assert_allclose(ag.bayes_factor_bound([0.001, 0.5, 1.0, 1 / math.e]),
                               [53.25600376880312, 1.0, 1.0, 1.0], rtol=1e-12)
    # continuous at 1/e: just below it the bound is just above 1
    assert 1.0 < ag.bayes_factor_bound(1 / math.e - 1e-6) < 1.0 + 1e-9
    assert ag.bayes_factor_bound(0.0) == math.inf
    assert math.isnan(ag.bayes_factor_bound(np.nan))


def test_evidence_ratio():
    np.testing.assert_allclose(ag.evidence_ratio([0.95, 0.5, 0.2]), [19.0, 1.0, 0.25])
    assert ag.evidence_ratio(1.0) == math.inf


def test_implied_df_recovers_satterthwaite_df_from_lmertest(golden_dir):
    # lmerTest's row for Days on sleepstudy (R-made golden file): t = 6.7715, df = 16.99998
    g = pd.read_csv(golden_dir / "lme4" / "sleepstudy_lmer.csv").set_index("term")
    days = g.loc["Days"]
    assert ag.implied_df(days["statistic"], days["p_value"]) == pytest.approx(days["df"], rel=1e-4)
    # glmer's Wald z rows (cbpp golden file) give an infinite df
    z = pd.read_csv(golden_dir / "lme4" / "cbpp_glmer.csv").set_index("term").loc["period2"]
    assert ag.implied_df(z["statistic"], z["p_value"]) == math.inf
    assert math.isnan(ag.implied_df(np.nan, 0.1))


def test_one_sided_p_uses_the_rows_reference_distribution():
    from scipy.stats import t

    p2 = 2 * t.sf(2.0, 10)  # 0.07338803477074...
    assert ag.one_sided_p(1.0, 0.5, 2.0, p2, ">") == (pytest.approx(p2 / 2), "t (df = 10.0)")
    # against 0.5: t = (1.0 - 0.5) / 0.5 = 1 on 10 df -> 0.17044656615103004
    p, how = ag.one_sided_p(1.0, 0.5, 2.0, p2, ">", value=0.5)
    assert p == pytest.approx(0.17044656615103004, rel=1e-6) and how == "t (df = 10.0)"
    # no p-value (or a z row): Wald z, 1 - Phi(1) = 0.15865525393145707
    assert ag.one_sided_p(1.0, 0.5, np.nan, np.nan, ">", value=0.5) == (
        pytest.approx(0.15865525393145707), "z")
