"""Power-scaling sensitivity checked against the conjugate normal model, where it is analytic,
and ArviZ's psens (which pybrms uses) checked against priorsense's definition written out.

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
    inference_data,
    pareto_k,
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


def priorsense_cjs(x: np.ndarray, weights: np.ndarray) -> float:
    """priorsense's ``cjs_dist(x, x, NULL, weights)`` (R/cjs.R since May 2022, CRAN 1.0): the
    draws' ECDF and their weighted ECDF stepping at the sorted draws ("natural bins", the last
    step dropped), unsigned (the larger distance of x and -x), metric (square root).
    """
    out = 0.0
    for v in (x, -x):
        order = np.argsort(v, kind="stable")
        bins = np.diff(v[order])
        px = (np.arange(1, len(v)) / len(v))
        qx = np.cumsum(weights[order] / weights.sum())[:-1]
        p_int, q_int = px @ bins, qx @ bins
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.nansum(bins * px * (np.log2(px) - np.log2(0.5 * px + 0.5 * qx)))
            b = np.nansum(bins * qx * (np.log2(qx) - np.log2(0.5 * qx + 0.5 * px)))
        cjs_pq = a + 0.5 / np.log(2) * (q_int - p_int)
        cjs_qp = b + 0.5 / np.log(2) * (p_int - q_int)
        out = max(out, float(np.sqrt((cjs_pq + cjs_qp) / (p_int + q_int))))
    return out


def priorsense_sensitivity(x: np.ndarray, component: np.ndarray) -> float:
    lo, hi = 1 / (1 + DELTA), 1 + DELTA
    d_lo = priorsense_cjs(x, power_weights(component, lo)[0])
    d_hi = priorsense_cjs(x, power_weights(component, hi)[0])
    return (d_lo / abs(np.log2(lo)) + d_hi / np.log2(hi)) / 2


@pytest.mark.parametrize("t0,n,ybar", [(0.5, 10, 1.0), (100.0, 50, 0.3), (0.05, 2, 0.0)])
def test_arviz_psens_is_priorsenses_definition(t0, n, ybar):
    """Same draws, lprior and log_lik: pybrms's rows (arviz.psens) equal priorsense's CJS
    with the same PSIS weights to 1e-8 relative, or 1e-7 absolute for values near 0: under a
    vague prior (1e-6) the divergences are rounding error (1e-17), and the last bits of the
    weights (psens smooths the log weights as they are, power_weights after subtracting their
    maximum) move the value by up to 3e-8. Two parameters: mu and exp(mu / 2)."""
    y, mu, lprior, loglik = model(m0=0.0, t0=t0, n=n, ybar=ybar)
    mu, lprior, loglik = mu[:4000], lprior[:4000], loglik[:4000]
    draws = {"mu": mu, "exp_half_mu": np.exp(mu / 2)}
    rows = power_scaling(draws, lprior, loglik)
    for row in rows:
        x = draws[row["term"]]
        want_prior = priorsense_sensitivity(x, lprior)
        want_lik = priorsense_sensitivity(x, loglik.sum(axis=1))
        assert row["prior"] == pytest.approx(want_prior, rel=1e-8, abs=1e-7)
        assert row["likelihood"] == pytest.approx(want_lik, rel=1e-8, abs=1e-7)
        assert row["pareto_k_prior"] == pareto_k(lprior)
    # the old pybrms (2021 priorsense) CJS ran one step past the largest draw: a few % apart
    if t0 == 0.5:
        assert rows[0]["prior"] == pytest.approx(0.13, abs=0.02)


def test_inference_data_holds_brms_components_as_psens_reads_them():
    y, mu, lprior, loglik = model(m0=0.0, t0=1.0, n=5, ybar=0.5)
    idata = inference_data({"b_x": mu[:100]}, lprior[:100], loglik[:100])
    assert idata.posterior["b_x"].shape == (1, 100)
    assert idata.log_likelihood["log_lik"].shape == (1, 100, 5)
    np.testing.assert_array_equal(idata.log_prior["lprior"].values.ravel(), lprior[:100])


def test_sensitivity_grows_as_the_prior_tightens():
    values = []
    for t0 in (100.0, 1.0, 0.3):
        y, mu, lprior, loglik = model(m0=0.0, t0=t0, n=10, ybar=1.0)
        values.append(power_scaling({"mu": mu}, lprior, loglik)[0]["prior"])
    assert values[0] < 1e-3 and all(a < b for a, b in zip(values, values[1:], strict=False))
    assert power_scaling({}, lprior, loglik) == []
