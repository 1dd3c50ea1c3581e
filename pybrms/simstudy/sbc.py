"""Simulation-based calibration (SBC): ranks, simultaneous ECDF bands and a uniformity test.

Ranks follow the SBC package (https://github.com/hyunjimoon/SBC, read at commit d9cb737:
``calculate_ranks_draws_matrix`` and ``compute_SBC``'s thinning in ``R/results.R``); the bands
and their adjustment follow Säilynoja, Bürkner & Vehtari (2022), "Graphical test for discrete
uniformity and its applications in goodness-of-fit evaluation and multiple sample comparison",
Statistics and Computing 32:32, as implemented in the SBC package's ``R/calculate.R``
(``adjust_gamma``, ``adjust_gamma_optimize``, ``adjust_gamma_simulate``, ``alpha_quantile``,
``ecdf_intervals``) and ``R/plot.R`` (``data_for_ecdf_plots``, ``plot_rank_hist``).

Vocabulary: ``N`` is the number of rank sets (simulated datasets), ``max_rank`` the number of
thinned posterior draws (ranks lie in ``0..max_rank``), ``K`` the number of ECDF evaluation
points ``z_i = i / K`` and, in :func:`adjust_gamma` and :func:`ecdf_bands` only, ``L`` the
number of *samples* compared at once (Säilynoja et al.'s L: 1 for SBC; several for comparing
chains), not the number of draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, stats

from pybrms.errors import SpecError

#: SBC's default rank thinning for MCMC fits (``SBC_backend_default_thin_ranks``)
DEFAULT_THIN = 10
#: SBC's default ``ensure_num_ranks_divisor`` in ``compute_SBC``
DEFAULT_RANKS_DIVISOR = 2
#: columns of :func:`sbc_test`'s result after the ``by`` columns
TEST_COLUMNS: tuple[str, ...] = (
    "variable", "n", "max_rank", "K", "gamma_threshold", "gamma", "p_value", "ok", "bins",
    "chisq", "chisq_df", "chisq_p_value",
)

Seed = int | np.random.Generator | None


# ----- ranks ----------------------------------------------------------------------------------
def _thin_chain(chain: np.ndarray, thin: int) -> np.ndarray:
    """Every ``thin``-th draw from the first: posterior's ``thin_draws``.

    posterior keeps iterations ``round(seq(1, niterations, by = thin))`` of every chain; for
    an integer ``thin`` these are 1, 1 + thin, 1 + 2 thin, ... (1-based).
    """
    return chain[::thin]


def _thinned(values: np.ndarray, thin: int, divisor: int) -> np.ndarray:
    """Thin per chain, merge chains, then drop draws so ``divisor`` divides ``max_rank + 1``.

    ``values`` is 1-D (one chain) or 2-D (chains x iterations). The merge is chain after
    chain (posterior's ``merge_chains``); SBC's ``compute_SBC`` then keeps the first
    ``ndraws - (ndraws + 1) %% divisor`` draws (``ensure_num_ranks_divisor``).
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise SpecError(f"draws must be 1-D or chains x iterations, not shape {arr.shape}")
    if thin > arr.shape[1]:
        raise SpecError(f"thin={thin} exceeds the {arr.shape[1]} iterations per chain")
    merged = np.concatenate([_thin_chain(c, thin) for c in arr])
    drop = (merged.size + 1) % divisor
    return merged[: merged.size - drop] if merged.size - drop > 0 else merged


def thinned_max_rank(
    n_iterations: int,
    n_chains: int = 1,
    thin: int | None = DEFAULT_THIN,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
) -> int:
    """The number of draws left after :func:`sbc_ranks`' thinning: the maximum rank ``L``.

    Parameters
    ----------
    n_iterations : int
        Post-warm-up iterations per chain.
    n_chains : int
        Number of chains.
    thin : int or None
        Thinning period (None: 1).
    ensure_num_ranks_divisor : int
        As in :func:`sbc_ranks`.

    Returns
    -------
    int
        ``L``; ranks lie in ``0..L``.

    """
    thin = _check_thin(thin)
    kept = n_chains * len(range(0, n_iterations, thin))
    drop = (kept + 1) % ensure_num_ranks_divisor
    return kept - drop if kept - drop > 0 else kept


def _check_thin(thin: int | None) -> int:
    thin = 1 if thin is None else thin
    if int(thin) != thin or thin < 1:
        raise SpecError(f"thin must be a positive integer, not {thin!r}")
    return int(thin)


def _draws_by_variable(draws: Mapping[str, np.ndarray] | pd.DataFrame) -> Mapping[str, object]:
    """Per-variable arrays (1-D, or chains x iterations) from a mapping or a draws frame."""
    if isinstance(draws, pd.DataFrame):
        meta = {".chain", ".iteration", ".draw"}
        cols = [c for c in draws.columns if c not in meta]
        if ".chain" not in draws.columns:
            return {c: draws[c].to_numpy(float) for c in cols}
        chains = [g for _, g in draws.groupby(".chain", sort=True)]
        if len({len(g) for g in chains}) != 1:
            raise SpecError("every .chain of the draws frame must have the same length")
        return {c: np.stack([g[c].to_numpy(float) for g in chains]) for c in cols}
    if isinstance(draws, Mapping):
        return draws
    raise SpecError(f"draws must be a mapping or a DataFrame, not {type(draws).__name__}")


def sbc_ranks(
    truth: Mapping[str, float],
    draws: Mapping[str, np.ndarray] | pd.DataFrame,
    thin: int | None = DEFAULT_THIN,
    *,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
    seed: Seed = None,
) -> dict[str, int]:
    """Rank of each true value among its thinned posterior draws (the SBC statistic).

    The rank is the number of thinned draws strictly below the truth; draws equal to the truth
    (and NaN draws, which SBC counts as possibly equal) are ties, and the rank is drawn
    uniformly from ``below .. below + ties`` (SBC's ``calculate_ranks_draws_matrix``, which
    draws ``rdunif(0, ties)``). Ranks lie in ``0..L`` with ``L`` the number of kept draws.

    Thinning (SBC's ``compute_SBC``): every ``thin``-th iteration of each chain from the first
    is kept (posterior's ``thin_draws``), the chains are concatenated, and the last
    ``(n + 1) % ensure_num_ranks_divisor`` draws are dropped so that the number of possible
    ranks ``L + 1`` is divisible by ``ensure_num_ranks_divisor``. Thinning removes the
    autocorrelation of MCMC draws, which would otherwise make ranks non-uniform even for a
    calibrated model; SBC's default for MCMC is 10 (``SBC_backend_default_thin_ranks``), and
    ``thin=1`` (or None) suits independent draws.

    Parameters
    ----------
    truth : mapping of str to float
        The values the dataset was simulated from, by variable name. Only these variables are
        ranked.
    draws : mapping of str to array, or DataFrame
        Posterior draws per variable: a 1-D array (one chain, or chains already merged) or a
        2-D chains x iterations array; or a draws frame with one column per variable and
        optionally a ``.chain`` column (posterior's ``draws_df``; ``.iteration`` and ``.draw``
        are ignored, rows are taken in order within each chain).
    thin : int or None
        Thinning period (default 10, SBC's default for MCMC; None means 1).
    ensure_num_ranks_divisor : int
        Drop at most this minus one draws so it divides ``L + 1`` (SBC's default 2; 1 keeps
        every thinned draw).
    seed : int, numpy Generator or None
        Seeds the tie-breaking draws.

    Returns
    -------
    dict of str to int
        Variable -> rank, in the order of ``truth``. :func:`thinned_max_rank` gives ``L``.

    Raises
    ------
    SpecError
        A variable of ``truth`` has no draws, a truth is not finite, or ``thin`` is invalid.

    """
    return {v: int(r) for v, r in
            _rank_table(truth, draws, thin, ensure_num_ranks_divisor, seed)[["variable", "rank"]]
            .itertuples(index=False)}


def sbc_rank_frame(
    truth: Mapping[str, float],
    draws: Mapping[str, np.ndarray] | pd.DataFrame,
    thin: int | None = DEFAULT_THIN,
    *,
    ensure_num_ranks_divisor: int = DEFAULT_RANKS_DIVISOR,
    seed: Seed = None,
) -> pd.DataFrame:
    """:func:`sbc_ranks` as a frame that also carries the maximum rank of each variable.

    Parameters
    ----------
    truth, draws, thin, ensure_num_ranks_divisor, seed
        As in :func:`sbc_ranks`.

    Returns
    -------
    DataFrame
        One row per variable of ``truth`` with columns ``variable``, ``simulated_value``,
        ``rank``, ``max_rank`` (the SBC package's ``stats`` names). A study's rank frame is
        these rows stacked over replicates with ``rep`` (and ``method``, condition) columns
        added; :func:`sbc_test` and the SBC figures take that frame.

    """
    return _rank_table(truth, draws, thin, ensure_num_ranks_divisor, seed)


def _rank_table(truth, draws, thin, divisor, seed) -> pd.DataFrame:
    thin = _check_thin(thin)
    if int(divisor) != divisor or divisor < 1:
        raise SpecError(f"ensure_num_ranks_divisor must be a positive integer, not {divisor}")
    by_var = _draws_by_variable(draws)
    missing = [v for v in truth if v not in by_var]
    if missing:
        raise SpecError(f"no posterior draws for {missing}")
    rng = np.random.default_rng(seed)
    rows = []
    for var, value in truth.items():
        value = float(value)
        if not math.isfinite(value):
            raise SpecError(f"the true value of {var!r} is {value}, not a finite number")
        kept = _thinned(np.asarray(by_var[var]), thin, int(divisor))
        below = int(np.sum(kept < value))
        ties = int(np.sum((kept == value) | np.isnan(kept)))
        rank = below + int(rng.integers(0, ties + 1))
        rows.append({"variable": var, "simulated_value": value, "rank": rank,
                     "max_rank": int(kept.size)})
    return pd.DataFrame(rows, columns=["variable", "simulated_value", "rank", "max_rank"])


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


# ----- ECDF of ranks and the test -----------------------------------------------------------
def default_k(n: int, max_rank: int) -> int:
    """SBC's default number of ECDF evaluation points (``data_for_ecdf_plots``).

    ``max_rank + 1`` for fewer than 50 rank sets, else ``min(max_rank + 1, n)``.

    Parameters
    ----------
    n : int
        Number of ranks.
    max_rank : int
        The largest possible rank L.

    Returns
    -------
    int
        K.

    """
    return max_rank + 1 if n < 50 else min(max_rank + 1, n)


def rank_ecdf(ranks: Sequence[int] | np.ndarray, max_rank: int, K: int) -> np.ndarray:
    """ECDF of ranks at ``z_i = i / K`` (i = 0..K), as SBC's ``data_for_ecdf_plots``.

    ``ecdf_i = mean(rank < floor(i (max_rank + 1) / K))``: the fraction of ranks whose
    fractional rank ``(rank + 1) / (max_rank + 1)`` is at most about ``z_i``. The floor is
    taken in integer arithmetic (SBC's floating-point product can miss the last point when K
    does not divide ``max_rank + 1``). The ECDF matches the uniform band exactly when K
    divides ``max_rank + 1``; otherwise ``z_i`` is approximated by the nearest rank boundary
    below it.

    Parameters
    ----------
    ranks : array of int
        Ranks in ``0..max_rank``.
    max_rank : int
        L.
    K : int
        Number of evaluation intervals.

    Returns
    -------
    numpy.ndarray
        K + 1 values from 0 to 1.

    """
    r = np.asarray(ranks)
    base = (np.arange(K + 1) * (max_rank + 1)) // K
    return (r[None, :] < base[:, None]).mean(axis=1)


def _gamma_statistic(counts: np.ndarray, cdf: np.ndarray, sf: np.ndarray) -> float:
    """2 min_i min(F_i(x_i), P(X_i >= x_i)) over the interior points (Säilynoja et al. eq. 7).

    The statistic SBC's ``adjust_gamma_simulate`` computes per simulation; ``counts`` are the
    scaled ECDF values at ``z = 1/K .. (K-1)/K``.
    """
    idx = np.arange(counts.size)
    return float(2 * min(cdf[idx, counts].min(), sf[idx, counts].min()))


def _gamma_p_value(N: int, K: int, g: float) -> float:
    """P(Gamma <= g) under uniformity, by the exact recursion.

    Gamma > g exactly when every x_i has F_i(x_i) > g/2 and P(X_i >= x_i) > g/2, a band of
    strict limits; its interior probability is P(Gamma > g).
    """
    z, cdf, sf = _binom_tables(N, K)
    lower = (cdf[:-1] <= g / 2).sum(axis=1)
    upper = (sf[:-1] > g / 2).sum(axis=1) - 1
    lower = np.append(lower, N)
    upper = np.append(upper, N)
    # 1 - P(inside): resolved to about 1e-15, clipped at 0
    return min(max(1.0 - _interior_probability(N, z, lower, upper), 0.0), 1.0)


def _chisq(ranks: np.ndarray, max_rank: int, bins: int) -> tuple[float, int, float]:
    """Pearson chi-square test of uniformity of binned ranks (expected by bin width)."""
    counts, sizes = bin_ranks(ranks, max_rank, bins)
    expected = ranks.size * sizes / (max_rank + 1)
    res = stats.chisquare(counts, expected)
    return float(res.statistic), bins - 1, float(res.pvalue)


def default_bins(n: int, max_rank: int) -> int:
    """SBC's ``guess_rank_hist_bins``: ``min(max_rank + 1, max(floor(n / 10), 5))``.

    Parameters
    ----------
    n : int
        Number of ranks.
    max_rank : int
        L.

    Returns
    -------
    int
        Number of histogram bins.

    """
    return min(max_rank + 1, max(n // 10, 5))


def bin_ranks(ranks: Sequence[int] | np.ndarray, max_rank: int,
              bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ranks in ``bins`` bins of consecutive ranks, and each bin's width.

    Rank r goes to bin ``floor(r bins / (max_rank + 1))``, so the ``max_rank + 1`` possible
    ranks split into bins whose widths differ by at most one.

    Parameters
    ----------
    ranks : array of int
        Ranks in ``0..max_rank``.
    max_rank : int
        L.
    bins : int
        Number of bins, at most ``max_rank + 1``.

    Returns
    -------
    counts, widths : numpy.ndarray
        Ranks per bin, and possible rank values per bin.

    """
    if not 1 <= bins <= max_rank + 1:
        raise SpecError(f"bins must lie in 1..{max_rank + 1}, not {bins}")
    r = np.asarray(ranks, dtype=int)
    b = (r * bins) // (max_rank + 1)
    widths = np.bincount((np.arange(max_rank + 1) * bins) // (max_rank + 1), minlength=bins)
    return np.bincount(b, minlength=bins), widths


def rank_histogram_band(n: int, max_rank: int, bins: int,
                        prob: float = 0.95) -> tuple[float, float, float]:
    """Pointwise ``prob`` binomial band for the rank-histogram bin counts (SBC's plot).

    As SBC's ``plot_rank_hist``: lower ``qbinom((1 - prob)/2, n, narrow / (L + 1))``, middle
    ``qbinom(0.5, n, 1 / bins)``, upper ``qbinom((1 + prob)/2, n, wide / (L + 1))`` with the
    narrowest and widest bin widths, so the band is conservative when widths differ. (SBC
    divides by ``max_rank``, not ``max_rank + 1``, the number of possible ranks; this uses
    the latter.) The band is pointwise: with many bins some counts fall outside by chance.

    Parameters
    ----------
    n : int
        Number of ranks.
    max_rank : int
        L.
    bins : int
        Number of bins.
    prob : float
        Pointwise coverage.

    Returns
    -------
    lower, middle, upper : float
        Bin-count limits.

    """
    _, widths = bin_ranks(np.zeros(0, dtype=int), max_rank, bins)
    q = stats.binom.ppf
    return (float(max(q((1 - prob) / 2, n, widths.min() / (max_rank + 1)), 0)),
            float(q(0.5, n, 1 / bins)),
            float(q((1 + prob) / 2, n, widths.max() / (max_rank + 1))))


def _ranks_frame(ranks: pd.DataFrame | Mapping[str, Sequence[int]],
                 max_rank: int | None, by: list[str]) -> pd.DataFrame:
    """A frame with ``variable``, ``rank``, ``max_rank`` (and ``by``) from either input form."""
    if isinstance(ranks, Mapping):
        frame = pd.concat([pd.DataFrame({"variable": v, "rank": np.asarray(r, dtype=int)})
                           for v, r in ranks.items()], ignore_index=True)
    elif isinstance(ranks, pd.DataFrame):
        frame = ranks.copy()
    else:
        raise SpecError(f"ranks must be a DataFrame or a mapping, not {type(ranks).__name__}")
    missing = [c for c in ("variable", "rank", *by) if c not in frame.columns]
    if missing:
        raise SpecError(f"the ranks frame lacks the column(s) {missing}")
    if max_rank is not None:
        frame["max_rank"] = int(max_rank)
    elif "max_rank" not in frame.columns:
        raise SpecError("give max_rank, or a max_rank column in the ranks frame")
    if frame.empty:
        raise SpecError("no ranks")
    if frame["rank"].isna().any():
        raise SpecError("ranks must not be missing (drop failed fits first)")
    bad = (frame["rank"] < 0) | (frame["rank"] > frame["max_rank"])
    if bad.any():
        raise SpecError(f"{int(bad.sum())} ranks lie outside 0..max_rank")
    return frame


def sbc_test(
    ranks: pd.DataFrame | Mapping[str, Sequence[int]],
    max_rank: int | None = None,
    prob: float = 0.95,
    *,
    K: int | None = None,
    bins: int | None = None,
    by: Sequence[str] | str | None = (),
) -> pd.DataFrame:
    """Test each variable's ranks for uniformity with the simultaneous ECDF band.

    Decision rule (``ok``): the ECDF of the ranks at ``z_i = i / K`` lies inside the
    simultaneous ``prob`` band of :func:`ecdf_bands` at every point (Säilynoja et al. 2022;
    what SBC's ``plot_ecdf``/``plot_ecdf_diff`` show). Equivalently the observed statistic
    ``gamma`` = 2 min_i min(F_i(x_i), P(X_i >= x_i)) is at least the adjusted
    ``gamma_threshold``. ``p_value`` = P(Gamma <= gamma) under uniform ranks, computed by the
    exact recursion (exact when K divides ``max_rank + 1``; values below about 1e-15 read
    0); at the boundary the discrete band and the p-value can disagree slightly, so ``ok``
    is the decision and ``p_value`` a summary. As a secondary check, ``chisq`` is Pearson's chi-square of the binned ranks
    (``bins`` bins; unreliable when expected counts fall below about 5).

    Parameters
    ----------
    ranks : DataFrame or mapping of str to array of int
        A rank frame (columns ``variable``, ``rank``, optionally ``max_rank`` and the ``by``
        columns; one row per replicate x variable, e.g. stacked :func:`sbc_rank_frame`), or
        variable -> ranks.
    max_rank : int, optional
        L (the number of thinned draws); needed unless the frame has a ``max_rank`` column,
        which must then be constant within each variable (and ``by`` group).
    prob : float
        Simultaneous coverage of the band (the test's level is ``1 - prob``).
    K : int, optional
        ECDF evaluation points (default :func:`default_k`, SBC's choice).
    bins : int, optional
        Chi-square bins (default :func:`default_bins`, SBC's histogram choice).
    by : sequence of str or str, optional
        Extra grouping columns (method, condition...).

    Returns
    -------
    DataFrame
        One row per ``by`` group x variable with the ``by`` columns and ``variable``, ``n``
        (ranks), ``max_rank``, ``K``, ``gamma_threshold``, ``gamma``, ``p_value``, ``ok``
        (bool), ``bins``, ``chisq``, ``chisq_df``, ``chisq_p_value``.

    Raises
    ------
    SpecError
        Missing columns, ranks outside ``0..max_rank``, no ranks, a varying ``max_rank``,
        or invalid ``prob``/``K``/``bins``.

    """
    by = [by] if isinstance(by, str) else list(by or [])
    frame = _ranks_frame(ranks, max_rank, by)
    if not 0 < prob < 1:
        raise SpecError(f"prob must lie in (0, 1), not {prob}")
    rows = []
    for key, group in frame.groupby([*by, "variable"], sort=False, dropna=False,
                                     observed=True):
        key = key if isinstance(key, tuple) else (key,)
        if group["max_rank"].nunique() != 1:
            where = dict(zip([*by, "variable"], key, strict=True))
            raise SpecError(f"max_rank varies within {where}")
        row = _test_one(group["rank"].to_numpy(int), int(group["max_rank"].iloc[0]), prob,
                        K, bins)
        rows.append({**dict(zip([*by, "variable"], key, strict=True)), **row})
    return pd.DataFrame(rows, columns=[*by, *TEST_COLUMNS])


def _test_one(r: np.ndarray, max_rank: int, prob: float, K: int | None,
              bins: int | None) -> dict:
    """The ECDF-band test and chi-square for one variable's ranks."""
    n = r.size
    k = default_k(n, max_rank) if K is None else int(K)
    nbins = default_bins(n, max_rank) if bins is None else int(bins)
    if k < 2:
        raise SpecError(f"K must be at least 2, not {k}")
    band = ecdf_bands(n, k, prob)
    counts = np.rint(rank_ecdf(r, max_rank, k) * n).astype(int)
    lower = np.rint(band["lower"].to_numpy() * n)
    upper = np.rint(band["upper"].to_numpy() * n)
    ok = bool(np.all((counts >= lower) & (counts <= upper)))
    _, cdf, sf = _binom_tables(n, k)
    g = _gamma_statistic(counts[1:k], cdf[:-1], sf[:-1])
    chisq, df, chisq_p = _chisq(r, max_rank, nbins)
    return {"n": n, "max_rank": max_rank, "K": k, "gamma_threshold": band.attrs["gamma"],
            "gamma": g, "p_value": _gamma_p_value(n, k, g), "ok": ok, "bins": nbins,
            "chisq": chisq, "chisq_df": df, "chisq_p_value": chisq_p}
