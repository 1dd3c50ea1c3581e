"""Finite evidence ratios beyond the draw limit (pybrms.compare.evidence)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from pybrms.compare.evidence import format_power, log10_normal_er, tail_evidence_ratio


def test_normal_tail_matches_the_closed_form_far_beyond_the_draws():
    rng = np.random.default_rng(1)
    draws = rng.normal(1.0, 0.1, 4000)  # every draw > 0: brms would print Inf
    assert (draws > 0).all()
    est = tail_evidence_ratio(draws, ">")
    z = draws.mean() / draws.std(ddof=1)
    want = (norm.logcdf(z) - norm.logsf(z)) / math.log(10)
    assert est.log10_er == pytest.approx(want, rel=1e-12)
    assert 20 < est.log10_er < 26  # z ~ 10: about 10^23, far beyond 3,999
    assert est.log10_er_low < est.log10_er < est.log10_er_high
    assert est.n_draws == 4000 and est.ess == 4000


def test_normal_tail_agrees_with_the_draw_count_where_both_are_finite():
    rng = np.random.default_rng(2)
    draws = rng.normal(0.5, 0.5, 200_000)  # P(b > 0) = 0.841, ER = 5.30
    est = tail_evidence_ratio(draws, ">")
    counted = (draws > 0).mean() / (draws <= 0).mean()
    assert 10 ** est.log10_er_low <= counted <= 10 ** est.log10_er_high
    assert 10 ** est.log10_er == pytest.approx(norm.cdf(1) / norm.sf(1), rel=0.02)
    assert 10 ** est.log10_er_kernel == pytest.approx(counted, rel=0.05)


def test_direction_and_value_shift_the_hypothesis():
    rng = np.random.default_rng(3)
    draws = rng.normal(-2.0, 0.5, 4000)
    less = tail_evidence_ratio(draws, "<")
    more = tail_evidence_ratio(draws, ">")
    assert less.log10_er == pytest.approx(-more.log10_er)
    shifted = tail_evidence_ratio(draws + 3.0, "<", value=3.0)
    assert shifted.log10_er == pytest.approx(less.log10_er, rel=1e-9)


def test_fewer_effective_draws_widen_the_monte_carlo_interval():
    draws = np.random.default_rng(4).normal(1.0, 0.25, 4000)
    full = tail_evidence_ratio(draws, ">")
    few = tail_evidence_ratio(draws, ">", ess=200)
    assert few.log10_er == full.log10_er
    assert few.log10_er_high - few.log10_er_low > 3 * (full.log10_er_high - full.log10_er_low)


def test_per_chain_kernel_range_needs_chains():
    draws = np.random.default_rng(5).normal(0.3, 0.2, 4000)
    est = tail_evidence_ratio(draws, ">", chains=np.repeat([1, 2, 3, 4], 1000))
    assert est.log10_er_kernel_low <= est.log10_er_kernel_high
    assert math.isnan(tail_evidence_ratio(draws, ">").log10_er_kernel_low)


def test_log_scale_stays_finite_for_extreme_z():
    assert math.isfinite(float(log10_normal_er(60.0)))
    assert float(log10_normal_er(60.0)) == pytest.approx(-float(log10_normal_er(-60.0)))
    assert float(log10_normal_er(0.0)) == 0.0


@pytest.mark.parametrize("bad", [[1.0], [2.0, 2.0, 2.0]])
def test_degenerate_draws_are_refused(bad):
    with pytest.raises(ValueError, match="draws"):
        tail_evidence_ratio(np.array(bad), ">")


def test_unknown_direction_is_named():
    with pytest.raises(ValueError, match="'='"):
        tail_evidence_ratio(np.array([1.0, 2.0]), "=")


def test_format_power_never_overflows():
    assert format_power(math.log10(123.0)) == "123"
    assert format_power(41.5) == "3.2e+41"
    assert format_power(400.0) == "1.0e+400"
    assert format_power(-5.0) == "1.0e-5"
    assert format_power(float("inf")) == "inf"
    assert format_power(math.log10(0.05)) == "0.05"
