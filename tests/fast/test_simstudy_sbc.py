"""SBC: ranks, the simultaneous ECDF band of Säilynoja et al. (2022) and the uniformity test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pybrms.errors import SpecError
from pybrms.simstudy.sbc import (
    adjust_gamma,
    bin_ranks,
    default_bins,
    default_k,
    ecdf_band_coverage,
    ecdf_bands,
    rank_ecdf,
    rank_histogram_band,
    sbc_rank_frame,
    sbc_ranks,
    sbc_test,
    thinned_max_rank,
)


# ----- ranks ----------------------------------------------------------------------------------
def test_rank_counts_draws_below_the_truth():
    draws = {"a": np.array([0.1, 0.5, 0.3, 0.9, 0.7]), "b": np.array([5.0, 6.0, 7.0, 8.0, 9.0])}
    ranks = sbc_ranks({"a": 0.6, "b": 100.0}, draws, thin=1, ensure_num_ranks_divisor=1)
    assert ranks == {"a": 3, "b": 5}
    # only the variables of truth, in its order
    assert list(sbc_ranks({"b": 4.0}, draws, thin=1, ensure_num_ranks_divisor=1)) == ["b"]


def test_thinning_and_rank_divisor():
    # one chain 0..19, thin 10 keeps draws 0 and 10; 2 + 1 = 3 ranks is odd, so the default
    # divisor 2 drops the last draw: one draw (0) left, truth 5 is above it
    frame = sbc_rank_frame({"x": 5.0}, {"x": np.arange(20.0)}, thin=10)
    assert frame.to_dict("records") == [
        {"variable": "x", "simulated_value": 5.0, "rank": 1, "max_rank": 1}]
    assert thinned_max_rank(20, 1, 10) == 1
    # divisor 1 keeps both: truth 5 has 0 below and 10 above -> rank 1 of max 2
    frame = sbc_rank_frame({"x": 5.0}, {"x": np.arange(20.0)}, thin=10,
                           ensure_num_ranks_divisor=1)
    assert (frame["rank"].item(), frame["max_rank"].item()) == (1, 2)
    # two chains x 10 iterations, thin 3: iterations 0, 3, 6, 9 of each -> 8 draws; 9 ranks
    # is odd -> 7 draws: chain 0's 0 3 6 9 and chain 1's 100 103 106
    chains = np.array([np.arange(10.0), 100 + np.arange(10.0)])
    frame = sbc_rank_frame({"x": 104.0}, {"x": chains}, thin=3)
    assert (frame["rank"].item(), frame["max_rank"].item()) == (6, 7)
    assert thinned_max_rank(10, 2, 3) == 7
    assert thinned_max_rank(1000, 4, 10) == 399  # 400 kept, 401 ranks odd -> 399


def test_draws_frame_with_chains():
    df = pd.DataFrame({".chain": [1] * 4 + [2] * 4, ".iteration": list(range(4)) * 2,
                       "mu": [0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]})
    # thin 2 keeps iterations 0, 2 of each chain: 0, 2, 10, 12; divisor 1 keeps all four
    assert sbc_ranks({"mu": 11.0}, df, thin=2, ensure_num_ranks_divisor=1) == {"mu": 3}


def test_ties_are_broken_uniformly_and_reproducibly():
    draws = {"k": np.array([1.0, 1.0, 1.0, 2.0, 0.0])}  # one below, three ties
    seen = [sbc_ranks({"k": 1.0}, draws, thin=1, ensure_num_ranks_divisor=1, seed=s)["k"]
            for s in range(400)]
    assert set(seen) == {1, 2, 3, 4}
    # each of the 4 values has probability 1/4: counts within 5 binomial SDs of 100
    counts = np.bincount(seen, minlength=5)[1:]
    assert np.all(np.abs(counts - 100) < 5 * math.sqrt(400 * 0.25 * 0.75))
    same = [sbc_ranks({"k": 1.0}, draws, thin=1, ensure_num_ranks_divisor=1, seed=7)["k"]
            for _ in range(3)]
    assert len(set(same)) == 1
    # a NaN draw counts as a possible tie (SBC, issue #78)
    draws = {"k": np.array([np.nan, 5.0, 6.0])}
    assert {sbc_ranks({"k": 0.0}, draws, thin=1, ensure_num_ranks_divisor=1, seed=s)["k"]
            for s in range(50)} == {0, 1}


def test_rank_errors():
    with pytest.raises(SpecError, match="no posterior draws"):
        sbc_ranks({"z": 0.0}, {"x": np.zeros(10)})
    with pytest.raises(SpecError, match="finite"):
        sbc_ranks({"x": math.nan}, {"x": np.zeros(10)}, thin=1)
    with pytest.raises(SpecError, match="thin"):
        sbc_ranks({"x": 0.0}, {"x": np.zeros(10)}, thin=0)
    with pytest.raises(SpecError, match="exceeds"):
        sbc_ranks({"x": 0.0}, {"x": np.zeros(5)}, thin=10)


# ----- the band -------------------------------------------------------------------------------
# SBC's own adjust_gamma_optimize and ecdf_intervals (R/calculate.R at commit d9cb737, sourced
# in R 4 with options(digits = 17)), for N = 30 and N = 100 ranks, prob 0.95
R_REFERENCE = {
    (30, 10): (0.014517042656193961,
               [0, 0, 1, 3, 6, 8, 11, 15, 18, 22, 30],
               [0, 8, 12, 15, 19, 22, 24, 27, 29, 30, 30]),
    (100, 20): (0.007357759427339046,
                [0, 0, 3, 6, 10, 14, 18, 23, 27, 32, 37, 42, 47, 52, 57, 63, 69, 75, 81, 88,
                 100],
                [0, 12, 19, 25, 31, 37, 43, 48, 53, 58, 63, 68, 73, 77, 82, 86, 90, 94, 97,
                 100, 100]),
}


@pytest.mark.parametrize("nk", sorted(R_REFERENCE))
def test_band_matches_the_sbc_package(nk):
    N, K = nk
    gamma, lower, upper = R_REFERENCE[nk]
    # Brent's method in scipy and in R's optimize land on the same gamma
    assert math.isclose(adjust_gamma(N, 1, K, 0.95), gamma, rel_tol=1e-8)
    band = ecdf_bands(N, K, 0.95)
    assert np.array_equal(np.rint(band["lower"] * N), lower)
    assert np.array_equal(np.rint(band["upper"] * N), upper)
    assert np.allclose(band["z"], np.arange(K + 1) / K)
    assert np.allclose(band["upper_diff"], band["upper"] - band["z"])
    assert band.attrs["gamma"] == adjust_gamma(N, 1, K, 0.95)


def test_band_is_reproducible_for_a_seed():
    a = ecdf_bands(40, 20, 0.95, method="simulate", M=500, seed=3)
    b = ecdf_bands(40, 20, 0.95, method="simulate", M=500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    # simulation and optimisation agree on the band to within one count
    exact = ecdf_bands(40, 20, 0.95)
    assert np.max(np.abs(np.rint(a["lower"] * 40) - np.rint(exact["lower"] * 40))) <= 1
    # several samples (L > 1) use the simulation; seeded, reproducible
    g3 = adjust_gamma(20, 3, 10, 0.95, M=300, seed=1)
    assert g3 == adjust_gamma(20, 3, 10, 0.95, M=300, seed=1)
    assert 0 < g3 < 0.05


def test_interior_probability_against_monte_carlo():
    # the band's exact coverage by the recursion vs the fraction of 20000 simulated uniform
    # samples whose ECDF stays inside: within 4 Monte Carlo SEs
    N, K = 20, 10
    band = ecdf_bands(N, K, 0.9)
    exact = ecdf_band_coverage(band)
    u = np.sort(np.random.default_rng(42).random((20000, N)), axis=1)
    counts = np.stack([(u <= z).sum(axis=1) for z in band["z"]], axis=1)
    inside = np.all((counts >= np.rint(band["lower"].to_numpy() * N))
                    & (counts <= np.rint(band["upper"].to_numpy() * N)), axis=1)
    se = math.sqrt(exact * (1 - exact) / 20000)
    assert abs(inside.mean() - exact) < 4 * se
    assert abs(exact - 0.9) < 0.02


def test_p_value_against_full_enumeration():
    # N = 5 ranks over 4 possible values (max_rank 3, K = 4: exact). Enumerate every count
    # vector (c0..c3), its multinomial probability and gamma = 2 min_i min(F_i(x_i), P(X_i >=
    # x_i)) over z = 1/4, 2/4, 3/4; the p-value is P(gamma <= observed).
    N, K = 5, 4
    outcomes = []
    for c in itertools.product(range(N + 1), repeat=K):
        if sum(c) != N:
            continue
        prob = stats.multinomial.pmf(c, N, [1 / K] * K)
        x = np.cumsum(c)[:-1]
        z = np.arange(1, K) / K
        g = 2 * min(stats.binom.cdf(x, N, z).min(), stats.binom.sf(x - 1, N, z).min())
        outcomes.append((c, prob, g))
    assert math.isclose(sum(p for _, p, _ in outcomes), 1.0)
    for c, _, g in outcomes[::7]:
        ranks = np.repeat(np.arange(K), c)
        res = sbc_test({"v": ranks}, max_rank=K - 1).iloc[0]
        expected = sum(p for _, p, h in outcomes if h <= g * (1 + 1e-12))
        assert res["K"] == 4
        assert math.isclose(res["gamma"], g, rel_tol=1e-12)
        assert math.isclose(res["p_value"], expected, rel_tol=1e-9, abs_tol=1e-12), c


# ----- the test -------------------------------------------------------------------------------
def test_uniform_ranks_are_rejected_at_about_the_nominal_rate():
    # 300 studies of N = 100 uniform ranks (max_rank 99, K = 100 divides 100: exact). The
    # band's exact coverage c is within 0.01 of 0.95 (discreteness), and the number of
    # rejections is Binomial(300, 1 - c): we accept its central 99.9% range, so a correct
    # test fails this check once in a thousand seeds (this seed is fixed). The same holds for
    # p_value <= 0.05 at rate 0.05.
    N, reps = 100, 300
    c = ecdf_band_coverage(ecdf_bands(N, 100, 0.95))
    assert abs(c - 0.95) < 0.01
    rng = np.random.default_rng(2024)
    frame = pd.DataFrame({"rep": np.repeat(np.arange(reps), N),
                          "rank": rng.integers(0, 100, reps * N)})
    frame["variable"] = "theta_" + frame["rep"].astype(str)
    res = sbc_test(frame, max_rank=99)
    assert len(res) == reps
    rejections = int((~res["ok"]).sum())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 1 - c)
    assert lo <= rejections <= hi, rejections
    small_p = int((res["p_value"] <= 0.05).sum())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.05)
    assert lo <= small_p <= hi, small_p
    # the decision and the gamma statistic agree
    assert ((res["gamma"] >= res["gamma_threshold"]) == res["ok"]).all()


def test_miscalibration_is_flagged():
    rng = np.random.default_rng(5)
    n, top = 200, 99
    ranks = {
        "calibrated": rng.integers(0, top + 1, n),
        # posterior too narrow: the truth falls in the tails, ranks pile at 0 and L
        "too_narrow": np.where(rng.random(n) < 0.5, rng.integers(0, 15, n),
                               rng.integers(top - 14, top + 1, n)),
        # posterior too wide: ranks pile in the middle
        "too_wide": np.clip(np.rint(rng.normal(top / 2, 12, n)), 0, top).astype(int),
        # biased posterior: ranks shifted up
        "shifted": np.minimum(rng.integers(0, top + 1, n) + 20, top),
    }
    res = sbc_test(ranks, max_rank=top).set_index("variable")
    assert bool(res.loc["calibrated", "ok"])
    for v in ("too_narrow", "too_wide", "shifted"):
        assert not res.loc[v, "ok"], v
        assert res.loc[v, "p_value"] < 0.001 and res.loc[v, "chisq_p_value"] < 0.001
    assert res.loc["calibrated", "p_value"] > 0.05


def test_sbc_test_columns_groups_and_defaults():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"method": np.repeat(["brms", "fast"], 60),
                          "variable": "b", "rank": rng.integers(0, 20, 120), "max_rank": 19})
    res = sbc_test(frame, by="method")
    assert list(res.columns) == ["method", "variable", "n", "max_rank", "K",
                                 "gamma_threshold", "gamma", "p_value", "ok", "bins", "chisq",
                                 "chisq_df", "chisq_p_value"]
    assert list(res["method"]) == ["brms", "fast"]
    row = res.iloc[0]
    assert (row["n"], row["max_rank"], row["K"], row["bins"]) == (60, 19, 20, 6)
    assert default_k(60, 19) == 20 and default_k(30, 99) == 100 and default_k(200, 99) == 100
    assert default_bins(60, 19) == 6 and default_bins(20, 99) == 5 and default_bins(500, 9) == 10
    # chi-square by hand: 6 bins of widths 4,3,3,4,3,3 over 20 ranks
    counts, widths = bin_ranks(frame["rank"][:60], 19, 6)
    assert list(widths) == [4, 3, 3, 4, 3, 3]
    expected = [60 * w / 20 for w in widths]
    chisq = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    assert math.isclose(row["chisq"], chisq, rel_tol=1e-12)
    assert math.isclose(row["chisq_p_value"], stats.chi2.sf(chisq, 5), rel_tol=1e-9)


def test_rank_ecdf_and_histogram_band():
    # ranks 0..4 (max 4), K = 5: ECDF at z = i/5 counts ranks below i
    ecdf = rank_ecdf([0, 0, 1, 3, 4], 4, 5)
    assert np.allclose(ecdf, [0, 0.4, 0.6, 0.6, 0.8, 1.0])
    # K = 2 with 10 possible ranks: boundaries 0, 5, 10
    assert np.allclose(rank_ecdf([0, 4, 5, 9], 9, 2), [0, 0.5, 1.0])
    counts, widths = bin_ranks([0, 3, 4, 6, 7, 9], 9, 3)
    assert list(widths) == [4, 3, 3] and list(counts) == [2, 2, 2]
    lo, mid, hi = rank_histogram_band(200, 99, 20)
    assert lo == stats.binom.ppf(0.025, 200, 0.05) and hi == stats.binom.ppf(0.975, 200, 0.05)
    assert mid == 10


def test_sbc_test_errors():
    with pytest.raises(SpecError, match="outside"):
        sbc_test({"a": [0, 5, 11]}, max_rank=10)
    with pytest.raises(SpecError, match="max_rank"):
        sbc_test(pd.DataFrame({"variable": ["a"], "rank": [1]}))
    with pytest.raises(SpecError, match="varies"):
        sbc_test(pd.DataFrame({"variable": ["a", "a"], "rank": [1, 2], "max_rank": [9, 19]}))
    with pytest.raises(SpecError, match="lacks"):
        sbc_test(pd.DataFrame({"rank": [1]}), max_rank=3)
    with pytest.raises(SpecError, match="prob"):
        adjust_gamma(10, 1, 10, prob=1.0)
    with pytest.raises(SpecError, match="simulate"):
        adjust_gamma(10, 2, 10, method="optimize")
