"""Agreement metrics between engines, and the p-value <-> Bayes factor bridge, as pure functions.

Every function takes scalars or array-likes and returns numpy values; missing inputs (NaN)
give NaN (or False for the boolean metrics), never an invented number.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

#: 1/e: above this p-value the -e p ln p bound no longer limits the Bayes factor
INV_E = math.exp(-1.0)


def diff_in_se(estimate: ArrayLike, reference: ArrayLike, reference_se: ArrayLike) -> np.ndarray:
    """Difference from the reference engine's estimate in units of the reference's SE.

    ``(estimate - reference) / reference_se``; for brms as reference that is the number of
    posterior SDs separating the two point estimates.
    """
    est, ref, se = (np.asarray(a, dtype=float) for a in (estimate, reference, reference_se))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, (est - ref) / se, np.nan)


def sign_agrees(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """True where ``a`` and ``b`` have the same sign (both > 0, both < 0 or both 0)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    return ok & (np.sign(x) == np.sign(y))


def intervals_overlap(
    low1: ArrayLike, high1: ArrayLike, low2: ArrayLike, high2: ArrayLike
) -> np.ndarray:
    """True where the intervals ``[low1, high1]`` and ``[low2, high2]`` share a point."""
    lo1, hi1, lo2, hi2 = (np.asarray(a, dtype=float) for a in (low1, high1, low2, high2))
    ok = np.isfinite(lo1) & np.isfinite(hi1) & np.isfinite(lo2) & np.isfinite(hi2)
    return ok & (np.maximum(lo1, lo2) <= np.minimum(hi1, hi2))


def overlap_fraction(
    low1: ArrayLike, high1: ArrayLike, low2: ArrayLike, high2: ArrayLike
) -> np.ndarray:
    """Length of the intervals' intersection over the length of the shorter one (0 to 1)."""
    lo1, hi1, lo2, hi2 = (np.asarray(a, dtype=float) for a in (low1, high1, low2, high2))
    inter = np.clip(np.minimum(hi1, hi2) - np.maximum(lo1, lo2), 0.0, None)
    shorter = np.minimum(hi1 - lo1, hi2 - lo2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(shorter > 0, inter / shorter, np.nan)


def one_sided_p_from_two_sided(
    p_two_sided: ArrayLike, statistic: ArrayLike, direction: str
) -> np.ndarray:
    """One-sided p-value for ``H1: beta > 0`` (``direction=">"``) or ``beta < 0`` (``"<"``).

    Exact for a symmetric reference distribution (lmerTest's t with Satterthwaite df, or
    glmer's z): ``p/2`` when the statistic points the hypothesis's way, else ``1 - p/2``.
    """
    p, t = np.asarray(p_two_sided, dtype=float), np.asarray(statistic, dtype=float)
    sign = _direction_sign(direction)
    return np.where(sign * t > 0, p / 2.0, 1.0 - p / 2.0)


def one_sided_p_wald(
    estimate: ArrayLike, std_error: ArrayLike, direction: str, value: float = 0.0
) -> np.ndarray:
    """One-sided Wald (normal) p-value for ``H1: beta > value`` or ``beta < value``."""
    from scipy.stats import norm

    est, se = np.asarray(estimate, dtype=float), np.asarray(std_error, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = _direction_sign(direction) * (est - value) / se
    return norm.sf(z)


def implied_df(statistic: float, p_two_sided: float) -> float:
    """Degrees of freedom of the t distribution that turns ``statistic`` into ``p_two_sided``.

    Returns ``inf`` when the p-value is the normal (Wald z) one, as for glmer, and NaN when
    no t distribution gives it. For lmerTest rows this recovers the Satterthwaite df, so
    one-sided tests against non-zero values use the same reference distribution.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm, t

    stat, p = abs(float(statistic)), float(p_two_sided)
    if not (np.isfinite(stat) and np.isfinite(p)) or stat == 0 or not 0 < p < 1:
        return float("nan")
    if abs(2 * norm.sf(stat) - p) <= 1e-9 * p:
        return float("inf")

    def gap(log_df: float) -> float:
        return 2 * t.sf(stat, math.exp(log_df)) - p

    lo, hi = math.log(0.05), math.log(1e8)
    if gap(lo) * gap(hi) > 0:
        return float("nan")
    return float(math.exp(brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12)))


def one_sided_p(
    estimate: float,
    std_error: float,
    statistic: float,
    p_two_sided: float,
    direction: str,
    value: float = 0.0,
) -> tuple[float, str]:
    """One-sided p-value for ``H1: beta > value`` (or ``<``) from one tidy row.

    Uses the row's own reference distribution: for ``value == 0`` the exact
    :func:`one_sided_p_from_two_sided`; otherwise a t test with the :func:`implied_df` of
    the row (Satterthwaite for lmerTest), or a Wald z test when the row has no p-value or
    its p-value is a normal one.

    Returns
    -------
    (float, str)
        The p-value and its reference distribution (``"t (df = 17.0)"`` or ``"z"``).

    """
    from scipy.stats import t

    has_p = bool(np.isfinite(p_two_sided) and np.isfinite(statistic))
    df = implied_df(statistic, p_two_sided) if has_p else float("nan")
    how = f"t (df = {df:.1f})" if np.isfinite(df) else "z"
    if value == 0 and has_p:
        return float(one_sided_p_from_two_sided(p_two_sided, statistic, direction)), how
    if np.isfinite(df):
        tval = _direction_sign(direction) * (estimate - value) / std_error
        return float(t.sf(tval, df)), how
    return float(one_sided_p_wald(estimate, std_error, direction, value)), "z"


def bayes_factor_bound(p: ArrayLike) -> np.ndarray:
    """Largest Bayes factor against the null that a p-value can support: ``1 / (-e p ln p)``.

    The bound of Sellke, Bayarri and Berger (2001), valid for ``p < 1/e``; for
    ``p >= 1/e`` it is 1 (the data cannot favour the alternative). ``p = 0`` gives inf.
    """
    x = np.asarray(p, dtype=float)
    out = np.full(x.shape, np.nan)
    small = np.isfinite(x) & (x > 0) & (x < INV_E)
    out[small] = 1.0 / (-math.e * x[small] * np.log(x[small]))
    out[np.isfinite(x) & (x >= INV_E) & (x <= 1)] = 1.0
    out[x == 0] = np.inf
    return out if out.ndim else out[()]


def evidence_ratio(post_prob: ArrayLike) -> np.ndarray:
    """The evidence ratio brms gives a one-sided hypothesis: ``post_prob / (1 - post_prob)``."""
    pp = np.asarray(post_prob, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(pp < 1, pp / (1.0 - pp), np.inf)


def _direction_sign(direction: str) -> float:
    if direction == ">":
        return 1.0
    if direction == "<":
        return -1.0
    raise ValueError(f"direction must be '>' or '<', got {direction!r}")
