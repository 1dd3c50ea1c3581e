"""The fast engine's fused logit likelihood (engines/fast_logit.py) against numpy and scipy:
its exp and log1p polynomials to a few ulp, the log density to rounding and the gradient to
the analytic one and to finite differences, through the Op in PyTensor's numba and Python
backends alike."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

pytest.importorskip("numba")
pytest.importorskip("pytensor")

from pybrms.engines.fast import logit as fast_logit  # noqa: E402

EPS = np.finfo(float).eps


def test_exp_polynomial_is_within_two_ulp():
    x = -np.concatenate([np.linspace(0.0, 40.0, 100_001), np.geomspace(1e-12, 700.0, 5_001)])
    got, want = fast_logit.exp_neg(x), np.exp(x)
    assert np.max(np.abs(got - want) / want) <= 2 * EPS
    assert fast_logit.exp_neg(np.array([0.0]))[0] == 1.0
    # clamped far in the tail: softplus and the inverse logit there are below 1e-304
    assert 0.0 < fast_logit.exp_neg(np.array([-800.0]))[0] <= np.exp(-700.0) * (1 + 2 * EPS)


def test_log1p_series_is_within_three_ulp():
    e = np.concatenate([np.linspace(0.0, 1.0, 100_001)[1:], np.geomspace(1e-300, 1.0, 5_001)])
    got, want = fast_logit.log1p_unit(e), np.log1p(e)
    assert np.max(np.abs(got - want) / want) <= 3 * EPS
    assert fast_logit.log1p_unit(np.array([0.0]))[0] == 0.0


def _problem(seed=4, n=500, trials=False):
    """A design with an intercept column, two crossed blocks (one with a slope)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    g1, g2 = rng.integers(0, 7, n), rng.integers(0, 40, n)
    x = rng.normal(size=n)
    # flattened effects: block 1 (7 levels x [Intercept, x]) then block 2 (40 x [Intercept])
    pos = np.column_stack([g1 * 2, g1 * 2 + 1, 14 + g2])
    cov = np.column_stack([np.ones(n), x, np.ones(n)])
    beta = rng.normal(size=4) * np.array([1.0, 2.0, 0.5, 3.0])  # |eta| up to ~15
    r = rng.normal(size=54)
    eta = X @ beta + (r[pos] * cov).sum(axis=1)
    m = rng.integers(1, 9, n) if trials else np.ones(n, dtype=int)
    y = rng.binomial(m, 1 / (1 + np.exp(-eta)))
    return X, pos, cov, beta, r, eta, y.astype(float), m.astype(float)


@pytest.mark.parametrize("family", ["bernoulli", "binomial"])
def test_kernel_density_and_gradient_are_stan_s(family):
    X, pos, cov, beta, r, eta, y, m = _problem(trials=family == "binomial")
    kind = fast_logit.KINDS[family]
    lp, gb, gr = fast_logit.logit_kernel(
        kind, beta, r, np.ascontiguousarray(X.T), np.ascontiguousarray(pos.T),
        np.ascontiguousarray(cov.T), y, m, 0.0)
    p = 1 / (1 + np.exp(-eta))
    # the kernel leaves out log C(n, y) (passed as `const` by logit_logp)
    lchoose = gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1)
    want = (stats.binom.logpmf(y, m, p) - lchoose).sum()
    assert lp == pytest.approx(want, rel=1e-12)
    g = y - m * p  # d logp / d eta
    assert np.allclose(gb, X.T @ g, rtol=1e-11, atol=1e-11)
    assert np.allclose(gr, np.bincount(pos.ravel(), (g[:, None] * cov).ravel(), minlength=54),
                       rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
@pytest.mark.parametrize("family", ["bernoulli", "binomial"])
def test_op_gradient_through_pytensor(family, mode):
    """The Op's value and PyTensor's gradient of a function of its inputs (numba backend, as
    nutpie compiles it, and the Python ``perform``) against finite differences."""
    import pytensor
    import pytensor.tensor as pt

    X, pos, cov, beta0, r0, eta, y, m = _problem(seed=9, n=300, trials=family == "binomial")
    a, z = pt.dvector("a"), pt.dvector("z")
    beta, r = 0.5 * a, pt.exp(0.1 * z)  # something upstream for the chain rule
    lp = fast_logit.logit_logp(family, beta, r, X, pos, cov, y,
                               m if family == "binomial" else None)
    f = pytensor.function([a, z], [lp, *pt.grad(lp, [a, z])], mode=mode)
    a0, z0 = 2 * beta0, np.log(np.abs(r0)) / 0.1
    val, ga, gz = f(a0, z0)
    eta = X @ (0.5 * a0) + (np.exp(0.1 * z0)[pos] * cov).sum(axis=1)
    p = 1 / (1 + np.exp(-eta))
    want = stats.binom.logpmf(y, m, p).sum()
    assert float(val) == pytest.approx(want, rel=1e-11, abs=1e-9)
    h = 1e-6
    for j in (0, 3):
        d = np.zeros_like(a0)
        d[j] = h
        fd = (f(a0 + d, z0)[0] - f(a0 - d, z0)[0]) / (2 * h)
        assert ga[j] == pytest.approx(float(fd), rel=1e-6, abs=1e-6)
    for j in (1, 20, 53):
        d = np.zeros_like(z0)
        d[j] = h
        fd = (f(a0, z0 + d)[0] - f(a0, z0 - d)[0]) / (2 * h)
        assert gz[j] == pytest.approx(float(fd), rel=1e-6, abs=1e-6)


def test_second_derivatives_are_refused():
    import pytensor.tensor as pt

    X, pos, cov, beta0, r0, eta, y, m = _problem(n=50)
    a, z = pt.dvector("a"), pt.dvector("z")
    lp = fast_logit.logit_logp("bernoulli", a, z, X, pos, cov, y)
    ga = pt.grad(lp, a)
    with pytest.raises(NotImplementedError, match="first derivatives"):
        pt.grad(ga.sum(), a)
