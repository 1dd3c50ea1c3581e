"""Simultaneous ECDF bands for SBC ranks (Säilynoja, Bürkner & Vehtari 2022).

The bands and their adjustment follow Säilynoja, Bürkner & Vehtari (2022), "Graphical test for
discrete uniformity and its applications in goodness-of-fit evaluation and multiple sample
comparison", Statistics and Computing 32:32, as implemented in the SBC package's
``R/calculate.R`` (``adjust_gamma``, ``adjust_gamma_optimize``, ``adjust_gamma_simulate``,
``alpha_quantile``, ``ecdf_intervals``). Part of :mod:`pybrms.simstudy.sbc` (import the public
names from there).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, stats

from pybrms.errors import SpecError

from .sbc_ranks import Seed


# ----- the interior probability of Säilynoja et al. (2022), Section 2.2 ----------------------
def _interior_probability(N: int, z: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """P(lower_i <= N F_N(z_i) <= upper_i for every i) for N uniform draws.

    The scaled ECDF is a Markov chain: given x_{i-1} draws at or below z_{i-1}, the draws in
    (z_{i-1}, z_i] are Binomial(N - x_{i-1}, (z_i - z_{i-1}) / (1 - z_{i-1})). This is SBC's
    ``p_interior`` recursion (Säilynoja et al. 2022, Section 2.2); ``z`` increases, ends at 1.
    """
    x1 = np.array([0])
    p = np.array([1.0])
    z1 = 0.0
    for zi, lo, hi in zip(z, lower, upper, strict=True):
        if lo > hi:
            return 0.0
        x2 = np.arange(lo, hi + 1)
        step = (zi - z1) / (1 - z1)
        pmf = stats.binom.pmf(x2[:, None] - x1[None, :], N - x1[None, :], min(step, 1.0))
        p = pmf @ p
        x1, z1 = x2, zi
    return float(p.sum())


@lru_cache(maxsize=64)
def _binom_tables(N: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``z_i = i/K`` (i = 1..K), the binomial CDF F_i(x) and survival S_i(x) = P(X >= x)."""
    z = np.arange(1, K + 1) / K
    x = np.arange(N + 1)
    cdf = stats.binom.cdf(x[None, :], N, z[:, None])
    sf = stats.binom.sf(x[None, :] - 1, N, z[:, None])
    return z, cdf, sf


def _qbinom(p: float, cdf: np.ndarray) -> np.ndarray:
    """R's ``qbinom``: the smallest x with F(x) >= p, row by row of a CDF table."""
    return (cdf < p).sum(axis=1)


def _optimize_target(gamma: float, prob: float, N: int, K: int) -> float:
    """SBC's ``adjust_gamma_optimize`` target: |prob - P(inside the gamma band)|.

    As in SBC: lower limits ``qbinom(gamma / 2, N, z_i)`` and, by symmetry, upper limits
    ``N - lower`` of the mirrored point (the last one N).
    """
    z, cdf, _ = _binom_tables(N, K)
    lower = _qbinom(gamma / 2, cdf)
    upper = np.concatenate([N - lower[::-1][1:K], [N]])
    return abs(prob - _interior_probability(N, z, lower, upper))


def _adjust_gamma_optimize(N: int, K: int, prob: float) -> float:
    """SBC's ``adjust_gamma_optimize``: R's ``optimize`` on (0, 1 - prob).

    R's ``optimize`` is Brent's golden-section/parabolic minimiser with absolute tolerance
    ``.Machine$double.eps^0.25``; scipy's bounded ``minimize_scalar`` is the same algorithm
    (Forsythe, Malcolm & Moler's ``fmin``).
    """
    res = optimize.minimize_scalar(
        _optimize_target, bounds=(0.0, 1.0 - prob), args=(prob, N, K), method="bounded",
        options={"xatol": np.finfo(float).eps ** 0.25},
    )
    return float(res.x)


def _alpha_quantile(gamma: np.ndarray, alpha: float, tol: float = 0.001) -> float:
    """SBC's ``alpha_quantile``: the alpha quantile of the simulated gammas (R type 7).

    In case of ties, the largest value below it, so at most ``100 (alpha + tol)`` percent
    of the simulations are rejected.
    """
    a = float(np.quantile(gamma, alpha))
    a_tol = float(np.quantile(gamma, alpha + tol))
    if a == a_tol and gamma.min() < a:
        a = float(gamma[gamma < a].max())
    return a


def _adjust_gamma_simulate(N: int, L: int, K: int, prob: float, M: int, seed: Seed) -> float:
    """SBC's ``adjust_gamma_simulate``: the 1 - prob quantile of simulated gamma statistics.

    For L = 1: the scaled ECDF of N uniforms at ``z = (1..K-1)/K`` against Binomial(N, z).
    For L > 1: each of L samples' ECDFs of the pooled fractional ranks against the
    hypergeometric distribution (N white of N L balls, floor(z N L) drawn).
    """
    rng = np.random.default_rng(seed)
    z = np.arange(1, K) / K
    gamma = np.empty(M)
    if L == 1:
        for m in range(M):
            counts = np.searchsorted(np.sort(rng.random(N)), z, side="right")
            gamma[m] = 2 * min(stats.binom.cdf(counts, N, z).min(),
                               stats.binom.sf(counts - 1, N, z).min())
    else:
        k = np.floor(z * N * L).astype(int)
        for m in range(M):
            u = rng.random((N, L))
            frac = stats.rankdata(u).reshape(N, L) / (N * L)
            counts = (frac[:, :, None] <= z[None, None, :]).sum(axis=0)  # L x (K - 1)
            gamma[m] = 2 * min(stats.hypergeom.cdf(counts, N * L, N, k).min(),
                               stats.hypergeom.sf(counts - 1, N * L, N, k).min())
    return _alpha_quantile(gamma, 1 - prob)


def _check_nlk(N: int, L: int, K: int, prob: float) -> None:
    for name, value in (("N", N), ("L", L), ("K", K)):
        if int(value) != value or value < 1:
            raise SpecError(f"{name} must be a positive integer, not {value!r}")
    if not 0 < prob < 1:
        raise SpecError(f"prob must lie in (0, 1), not {prob}")


@lru_cache(maxsize=256)
def _adjust_gamma_cached(N: int, L: int, K: int, prob: float, method: str, M: int,
                         seed: int | None) -> float:
    if method == "optimize":
        return _adjust_gamma_optimize(N, K, prob)
    return _adjust_gamma_simulate(N, L, K, prob, M, seed)


def adjust_gamma(
    N: int,
    L: int = 1,
    K: int | None = None,
    prob: float = 0.95,
    *,
    method: str = "auto",
    M: int = 5000,
    seed: Seed = 0,
) -> float:
    """The pointwise level gamma that makes the ECDF band simultaneous at level ``prob``.

    Säilynoja, Bürkner & Vehtari (2022), Section 2 (one sample) and Section 4 (L samples);
    SBC's ``adjust_gamma``.

    Parameters
    ----------
    N : int
        Sample size: the number of ranks (simulated datasets) per variable.
    L : int
        Number of samples compared simultaneously (1 for SBC of one method).
    K : int, optional
        Number of evaluation points ``z_i = i / K`` (default ``N``, as SBC).
    prob : float
        Simultaneous coverage of the band.
    method : {"auto", "optimize", "simulate"}
        ``"auto"`` is SBC's rule: the exact recursion optimised by Brent's method when
        ``L == 1`` (deterministic), simulation when ``L > 1``.
    M : int
        Simulations for ``method="simulate"`` (SBC's default 5000).
    seed : int, numpy Generator or None
        Seed of the simulation (results for an int seed are cached).

    Returns
    -------
    float
        gamma, in (0, 1 - prob).

    Raises
    ------
    SpecError
        For non-positive ``N``, ``L``, ``K``, ``prob`` outside (0, 1), an unknown method, or
        ``method="optimize"`` with ``L > 1``.

    """
    K = N if K is None else K
    _check_nlk(N, L, K, prob)
    if method not in ("auto", "optimize", "simulate"):
        raise SpecError(f"method must be 'auto', 'optimize' or 'simulate', not {method!r}")
    if method == "auto":
        method = "optimize" if L == 1 else "simulate"
    if method == "optimize" and L != 1:
        raise SpecError("method='optimize' handles one sample (L=1) only; use 'simulate'")
    if K == 1:
        raise SpecError("K must be at least 2: a single evaluation point (z=1) tests nothing")
    if method == "simulate" and not isinstance(seed, int):  # None or a Generator: no cache
        return _adjust_gamma_simulate(int(N), int(L), int(K), float(prob), int(M), seed)
    return _adjust_gamma_cached(int(N), int(L), int(K), float(prob), method, int(M),
                                None if method == "optimize" else int(seed))


def _band_counts(N: int, L: int, K: int, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """SBC's ``ecdf_intervals``: count limits at ``z = 0, 1/K, ..., 1``."""
    z = np.arange(K + 1) / K
    if L == 1:
        x = np.arange(N + 1)
        cdf = stats.binom.cdf(x[None, :], N, z[:, None])
    else:
        x = np.arange(N + 1)
        k = np.floor(z * L * N).astype(int)
        cdf = stats.hypergeom.cdf(x[None, :], N * L, N, k[:, None])
    return _qbinom(gamma / 2, cdf), _qbinom(1 - gamma / 2, cdf)


def ecdf_bands(
    N: int,
    K: int | None = None,
    prob: float = 0.95,
    *,
    L: int = 1,
    gamma: float | None = None,
    method: str = "auto",
    M: int = 5000,
    seed: Seed = 0,
) -> pd.DataFrame:
    """Simultaneous ``prob`` band for the ECDF of N uniform ranks, and for its difference.

    The limits are the ``gamma / 2`` and ``1 - gamma / 2`` quantiles of Binomial(N, z_i)
    (hypergeometric for ``L > 1``), divided by N, with gamma from :func:`adjust_gamma`
    (Säilynoja et al. 2022, eq. 6; SBC's ``ecdf_intervals``).

    Parameters
    ----------
    N : int
        Number of ranks (simulated datasets).
    K : int, optional
        Number of evaluation intervals (default ``N``); the band is given at ``z_i = i / K``,
        i = 0..K.
    prob : float
        Simultaneous coverage.
    L : int
        Samples compared at once (1 for SBC).
    gamma : float, optional
        Use this pointwise level instead of :func:`adjust_gamma`'s.
    method, M, seed
        Passed to :func:`adjust_gamma`.

    Returns
    -------
    DataFrame
        K + 1 rows with columns ``z``, ``lower``, ``upper`` (limits of the ECDF, fractions of
        N), ``lower_diff``, ``upper_diff`` (the same minus ``z``: limits of ECDF - z). The
        band is a step function: the value at ``z_i`` holds on ``[z_i, z_{i+1})``. ``attrs``
        holds ``gamma``, ``N``, ``K``, ``L``, ``prob``.

    """
    K = N if K is None else K
    if gamma is None:
        gamma = adjust_gamma(N, L, K, prob, method=method, M=M, seed=seed)
    _check_nlk(N, L, K, prob)
    lower, upper = _band_counts(int(N), int(L), int(K), float(gamma))
    z = np.arange(K + 1) / K
    out = pd.DataFrame({"z": z, "lower": lower / N, "upper": upper / N})
    out["lower_diff"] = out["lower"] - z
    out["upper_diff"] = out["upper"] - z
    out.attrs.update(gamma=float(gamma), N=int(N), K=int(K), L=int(L), prob=float(prob))
    return out


def ecdf_band_coverage(band: pd.DataFrame) -> float:
    """Exact probability that the ECDF of N uniform draws stays inside a one-sample band.

    The recursion of Säilynoja et al. (2022), Section 2.2 (SBC's ``p_interior``), over the
    band's points ``z_i = i / K`` (i = 1..K). For a band from :func:`ecdf_bands` this is the
    simultaneous coverage actually attained, close to ``prob`` up to discreteness.

    Parameters
    ----------
    band : DataFrame
        A band from :func:`ecdf_bands` with ``L == 1`` (its ``attrs`` give N and K).

    Returns
    -------
    float
        The coverage probability.

    Raises
    ------
    SpecError
        For a band without N/K attributes or with ``L > 1``.

    """
    attrs = band.attrs
    if "N" not in attrs or "K" not in attrs or attrs.get("L", 1) != 1:
        raise SpecError("ecdf_band_coverage needs a one-sample band from ecdf_bands()")
    N, K = attrs["N"], attrs["K"]
    lower = np.rint(band["lower"].to_numpy()[1:] * N).astype(int)
    upper = np.rint(band["upper"].to_numpy()[1:] * N).astype(int)
    return _interior_probability(N, np.arange(1, K + 1) / K, lower, upper)


