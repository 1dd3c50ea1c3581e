"""Power-scaling sensitivity checked against the conjugate normal model, where it is analytic.

y_i ~ N(mu, 1), mu ~ N(m0, t0): the posterior is normal, and so is the posterior with the
prior (or likelihood) raised to the power alpha (prior precision alpha / t0^2; data precision
alpha * n). Exact posterior draws, reweighted with PSIS, must give those posteriors, and the
sensitivity (CJS per log2(alpha)) must equal the same distance computed from the analytic CDFs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from pybrms.sensitivity.powerscale import (
    DELTA,
    cjs_distance,
    power_scaling,
    power_weights,
)

N_DRAWS = 40_000


def posterior(m0: float, t0: float, y: np.ndarray, a_prior: float = 1.0,
              a_lik: float = 1.0) -> tuple[float, float]:
    prec = a_prior / t0**2 + a_lik * len(y)
    mean = (a_prior * m0 / t0**2 + a_lik * y.sum()) / prec
    return mean, prec ** -0.5


def analytic_cjs(base: tuple[float, float], new: tuple[float, float], lo: float, hi: float) -> float:
    """The CJS distance of priorsense with the ECDFs replaced by the exact CDFs on [lo, hi]."""
    grid = np.linspace(lo, hi, 20001)
    dx = np.diff(grid).mean()
    out = 0.0
    for sign in (1, -1):
        g = grid if sign == 1 else np.sort(-grid)
        p = norm.cdf(sign * g, sign * base[0], base[1]) if sign == 1 else norm.sf(-g, base[0], base[1])
        q = norm.cdf(g, new[0], new[1]) if sign == 1 else norm.sf(-g, new[0], new[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(p > 0, p * (np.log2(p) - np.log2(0.5 * p + 0.5 * q)), 0.0)
            b = np.where(q > 0, q * (np.log2(q) - np.log2(0.5 * q + 0.5 * p)), 0.0)
        pi, qi = p.sum() * dx, q.sum() * dx
        cjs = a.sum() * dx + 0.5 / np.log(2) * (qi - pi) + b.sum() * dx + 0.5 / np.log(2) * (pi - qi)
        out = max(out, float(np.sqrt(max(cjs, 0)) / np.sqrt(pi + qi)))
    return out


def analytic_sensitivity(m0, t0, y, which, lo, hi):
    base = posterior(m0, t0, y)
    a_lo, a_hi = 1 / (1 + DELTA), 1 + DELTA
    kw = "a_prior" if which == "prior" else "a_lik"
    d_lo = analytic_cjs(base, posterior(m0, t0, y, **{kw: a_lo}), lo, hi)
    d_hi = analytic_cjs(base, posterior(m0, t0, y, **{kw: a_hi}), lo, hi)
    return (d_lo / abs(np.log2(a_lo)) + d_hi / abs(np.log2(a_hi))) / 2


def model(m0: float, t0: float, n: int, ybar: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    y = y - y.mean() + ybar
    mean, sd = posterior(m0, t0, y)
    mu = rng.normal(mean, sd, size=N_DRAWS)
    lprior = norm.logpdf(mu, m0, t0)
    loglik = norm.logpdf(y[None, :], mu[:, None], 1.0)
    return y, mu, lprior, loglik


@pytest.mark.parametrize("alpha", [0.5, 2.0])
@pytest.mark.parametrize("which", ["prior", "likelihood"])
def test_reweighted_posterior_is_the_power_scaled_one(alpha, which):
    y, mu, lprior, loglik = model(m0=0.0, t0=1.0, n=10, ybar=1.0)
    comp = lprior if which == "prior" else loglik.sum(axis=1)
    w, k = power_weights(comp, alpha)
    mean = float(np.sum(w * mu))
    sd = float(np.sqrt(np.sum(w * (mu - mean) ** 2)))
    kw = {"a_prior": alpha} if which == "prior" else {"a_lik": alpha}
    want_mean, want_sd = posterior(0.0, 1.0, y, **kw)
    assert k < 0.7
    assert mean == pytest.approx(want_mean, abs=0.01)
    assert sd == pytest.approx(want_sd, rel=0.03)
    base_mean, _ = posterior(0.0, 1.0, y)
    assert abs(want_mean - base_mean) > 0.02  # the check can tell the two apart


def test_sensitivity_matches_the_analytic_distance():
    y, mu, lprior, loglik = model(m0=0.0, t0=0.5, n=10, ybar=1.0)
    rows = power_scaling({"mu": mu}, lprior, loglik)
    lo, hi = mu.min(), mu.max()
    want_prior = analytic_sensitivity(0.0, 0.5, y, "prior", lo, hi)
    want_lik = analytic_sensitivity(0.0, 0.5, y, "likelihood", lo, hi)
    assert want_prior > 0.05 and want_lik > 0.05
    assert rows[0]["prior"] == pytest.approx(want_prior, rel=0.1)
    assert rows[0]["likelihood"] == pytest.approx(want_lik, rel=0.1)
    assert rows[0]["diagnosis"] == "prior-data conflict"


def test_vague_prior_is_not_flagged_and_weak_data_is():
    y, mu, lprior, loglik = model(m0=0.0, t0=100.0, n=50, ybar=0.3)
    row = power_scaling({"mu": mu}, lprior, loglik)[0]
    assert row["prior"] < 0.01 and row["likelihood"] > 0.05
    assert row["diagnosis"] == "-"
    y, mu, lprior, loglik = model(m0=0.0, t0=0.05, n=2, ybar=0.0)
    row = power_scaling({"mu": mu}, lprior, loglik)[0]
    assert row["prior"] > 0.05 and row["likelihood"] < 0.05
    assert row["diagnosis"] == "strong prior / weak likelihood"


def test_cjs_is_zero_for_equal_weights_and_grows_with_the_shift():
    x = np.random.default_rng(2).normal(size=5000)
    assert cjs_distance(x, None, np.ones_like(x)) == pytest.approx(0.0, abs=1e-12)
    small = cjs_distance(x, None, np.exp(0.1 * x))
    large = cjs_distance(x, None, np.exp(0.5 * x))
    assert 0 < small < large < 1
