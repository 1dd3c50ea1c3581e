"""The SBC uniformity test: ECDF of ranks against the simultaneous band, and binned ranks.

As the SBC package's ``R/plot.R`` (``data_for_ecdf_plots``, ``plot_rank_hist``) with the band
of :mod:`.sbc_bands`. Part of :mod:`pybrms.simstudy.sbc` (import the public names from there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pybrms.errors import SpecError

from .sbc_bands import _binom_tables, _interior_probability, ecdf_bands

#: columns of :func:`sbc_test`'s result after the ``by`` columns
TEST_COLUMNS: tuple[str, ...] = (
    "variable", "n", "max_rank", "K", "gamma_threshold", "gamma", "p_value", "ok", "bins",
    "chisq", "chisq_df", "chisq_p_value",
)


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
