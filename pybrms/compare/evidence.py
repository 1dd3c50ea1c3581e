"""Evidence ratios beyond the draw limit: a finite, clearly labelled estimate beside brms's Inf.

brms's evidence ratio for a one-sided hypothesis ``b > 0`` is ``P(b > 0) / P(b < 0)`` counted
over the posterior draws; when every one of the ``N`` draws is on one side it is ``Inf`` (the
paper's "Inf = 4,000"), and the largest finite value it can print is ``N - 1``. This module
estimates how strong such an "Inf" really is from the shape of the posterior:

* **normal tail** (the headline estimate): ``P(b > 0) = Phi(z)`` with ``z = mean / sd`` of the
  draws, so ``log ER = log Phi(z) - log Phi(-z)``, computed on the log scale so it stays finite
  for any ``z``. Its Monte Carlo uncertainty comes from the MC standard errors of the mean
  (``sd / sqrt(ESS)``) and of the SD (``sd / sqrt(2 ESS)``), propagated to ``z`` by the delta
  method: ``se(z) = sqrt((1 + z^2 / 2) / ESS)``; the interval is the ER at ``z -/+ 1.96 se(z)``.
* **kernel tail** (a check that does not assume normality): a Gaussian kernel density of the
  draws (Silverman's bandwidth) integrated over the tail; its MC uncertainty is the spread of
  the per-chain estimates.

Both are approximations of the tail *beyond* the draws; they are reported beside brms's exact
value, never instead of it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import log_ndtr

from .agreement import _direction_sign

#: Label printed beside the estimate wherever it appears.
LABEL = "normal-tail approximation (not brms's count)"
Z95 = 1.959963984540054


@dataclass(frozen=True)
class TailEstimate:
    """A finite evidence-ratio estimate for one one-sided hypothesis.

    Attributes
    ----------
    log10_er : float
        log10 of the normal-tail evidence ratio (finite for any non-degenerate posterior).
    log10_er_low, log10_er_high : float
        Its Monte Carlo 95% interval.
    z : float
        Posterior mean over posterior SD, signed in the hypothesis's direction.
    ess : float
        Effective sample size used for the MC uncertainty.
    log10_er_kernel : float
        log10 of the kernel-tail evidence ratio (pooled draws).
    log10_er_kernel_low, log10_er_kernel_high : float
        Range of the per-chain kernel estimates (NaN with one chain).
    n_draws : int
        Number of draws; brms's finite ER can be at most ``n_draws - 1``.
    method : str
        :data:`LABEL`.
    """

    log10_er: float
    log10_er_low: float
    log10_er_high: float
    z: float
    ess: float
    log10_er_kernel: float
    log10_er_kernel_low: float
    log10_er_kernel_high: float
    n_draws: int
    method: str = LABEL

    def to_dict(self) -> dict[str, float | int | str]:
        """Return the fields as a plain dict (JSON-ready)."""
        return asdict(self)

    def formatted(self) -> str:
        """Return e.g. ``"≈1.3e+15 [2.1e+14, 8.9e+15]"`` (normal tail, MC 95% interval)."""
        return (f"≈{format_power(self.log10_er)} "
                f"[{format_power(self.log10_er_low)}, {format_power(self.log10_er_high)}]")


def format_power(log10_value: float) -> str:
    """Format ``10 ** log10_value`` without overflow: ``3.2e+41``, ``inf`` for +inf."""
    if not math.isfinite(log10_value):
        return "inf" if log10_value > 0 else ("0" if log10_value < 0 else "nan")
    exponent = math.floor(log10_value)
    mantissa = 10 ** (log10_value - exponent)
    if mantissa >= 9.95:
        mantissa, exponent = 1.0, exponent + 1
    if -3 <= exponent <= 2:
        return f"{10 ** log10_value:.3g}"
    return f"{mantissa:.1f}e{exponent:+d}"


def log10_normal_er(z: float | np.ndarray) -> float | np.ndarray:
    """log10 of ``Phi(z) / Phi(-z)``, exact on the log scale for any ``z``."""
    return (log_ndtr(z) - log_ndtr(-np.asarray(z))) / math.log(10)


def _kernel_log10_er(x: np.ndarray) -> float:
    """log10 ER of ``x > 0`` under a Gaussian KDE of ``x`` (Silverman's bandwidth)."""
    n = len(x)
    sd = float(np.std(x, ddof=1))
    iqr = float(np.subtract(*np.percentile(x, [75, 25])))
    spread = min(sd, iqr / 1.349) if iqr > 0 else sd
    h = 0.9 * spread * n ** (-0.2)
    if not h > 0:
        return float("nan")
    # P(X > 0) = mean_i Phi(x_i / h); logsumexp keeps both tails finite.
    upper = np.logaddexp.reduce(log_ndtr(x / h)) - math.log(n)
    lower = np.logaddexp.reduce(log_ndtr(-x / h)) - math.log(n)
    return float((upper - lower) / math.log(10))


def tail_evidence_ratio(
    draws: np.ndarray,
    direction: str,
    value: float = 0.0,
    ess: float | None = None,
    chains: np.ndarray | None = None,
) -> TailEstimate:
    """Estimate the evidence ratio of ``b > value`` (or ``<``) beyond the draw limit.

    Parameters
    ----------
    draws : array
        Posterior draws of ``b`` (all chains pooled).
    direction : {">", "<"}
        The hypothesis's direction.
    value : float
        The hypothesis's right-hand side.
    ess : float, optional
        Effective sample size of ``b`` (bulk ESS); defaults to the number of draws.
    chains : array, optional
        Chain id of each draw, for the per-chain kernel estimates.

    Returns
    -------
    TailEstimate

    Raises
    ------
    ValueError
        For an unknown direction, fewer than two draws, or draws with zero spread.
    """
    x = _direction_sign(direction) * (np.asarray(draws, dtype=float) - value)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError("need at least two draws")
    sd = float(np.std(x, ddof=1))
    if not sd > 0:
        raise ValueError("the draws have no spread; the tail cannot be approximated")
    n = len(x)
    ess = float(n if ess is None or not np.isfinite(ess) or ess <= 0 else ess)
    z = float(np.mean(x)) / sd
    se_z = math.sqrt((1.0 + z * z / 2.0) / ess)
    kernel = _kernel_log10_er(x)
    lo_k = hi_k = float("nan")
    if chains is not None:
        chains = np.asarray(chains)
        per = [_kernel_log10_er(x[chains == c]) for c in np.unique(chains) if (chains == c).sum() > 2]
        if len(per) > 1:
            lo_k, hi_k = float(np.nanmin(per)), float(np.nanmax(per))
    return TailEstimate(
        log10_er=float(log10_normal_er(z)),
        log10_er_low=float(log10_normal_er(z - Z95 * se_z)),
        log10_er_high=float(log10_normal_er(z + Z95 * se_z)),
        z=z,
        ess=ess,
        log10_er_kernel=kernel,
        log10_er_kernel_low=lo_k,
        log10_er_kernel_high=hi_k,
        n_draws=n,
    )
