"""``pybrms.verify(fit_a, fit_b)``: do two Bayesian fits of one model agree within Monte Carlo error?

Made for the fast engine's pilot check: fit a reduced version of a grid's or simulation's
model with brms and with ``fast``, then::

    v = pybrms.verify(fit_fast, fit_brms)
    v.ok, v.verdict          # True, "agree: 6 of 6 parameters within tolerance"
    v.table                  # one row per parameter

Per parameter present in both fits (population-level ``b_*``, ``sd_*``, ``cor_*``,
``sigma``) the table holds both posterior means and their Monte Carlo standard errors
(ArviZ's ``mcse(method="mean")``, the ``posterior`` package's estimator), the difference in
combined MCSEs ``z = (mean_a - mean_b) / sqrt(mcse_a^2 + mcse_b^2)``, the ratio of posterior
SDs, the overlap of the two central intervals (intersection over union) and a per-parameter
verdict. Two fits of the same posterior give ``|z|`` below 3 for nearly every parameter and
SD ratios near 1 (how near depends on the effective sample sizes and the shape: the relative
MC error of an SD is ``sqrt((kurtosis - 1) / (4 ESS))``, ``1 / sqrt(2 ESS)`` for a normal
posterior, so the default tolerance widens with small ESS and heavy tails).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import PybrmsError

#: prefixes of the parameters compared (brms's names)
COMPARED = ("b_", "sd_", "cor_")
VERIFY_COLUMNS: tuple[str, ...] = (
    "parameter", "mean_a", "mean_b", "mcse_a", "mcse_b", "z", "sd_a", "sd_b", "sd_ratio",
    "sd_ratio_tolerance", "ess_a", "ess_b", "overlap", "ok",
)


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes
    ----------
    table : DataFrame
        One row per parameter, columns :data:`VERIFY_COLUMNS`.
    engines : tuple of str
        The engines of fit ``a`` and fit ``b``.
    z_max : float
        Tolerance on ``|z|``.
    ok : bool
        True when every parameter is within tolerance.
    verdict : str
        One line: ``agree: ...`` or ``disagree: ...`` naming the parameters outside.
    """

    table: pd.DataFrame
    engines: tuple[str, str]
    z_max: float
    ok: bool
    verdict: str

    def __str__(self) -> str:
        cols = ["parameter", "mean_a", "mean_b", "z", "sd_ratio", "overlap", "ok"]
        head = f"{self.engines[0]} vs {self.engines[1]}: {self.verdict}"
        return head + "\n" + self.table.loc[:, cols].to_string(index=False, float_format="%.4g")


def _arrays(fit: Any) -> dict[str, np.ndarray]:
    """brms-named draws ``(chain, draw)`` of the compared scalar parameters of a fit."""
    if hasattr(fit, "posterior") and isinstance(fit.posterior, dict):
        post = fit.posterior
        return {k: np.asarray(v) for k, v in post.items()
                if np.asarray(v).ndim == 2 and (k.startswith(COMPARED) or k == "sigma")}
    if hasattr(fit, "draws"):
        d = fit.draws()
        chains = sorted(d[".chain"].unique())
        d = d.sort_values([".chain", ".iteration"])
        n = int((d[".chain"] == chains[0]).sum())
        return {c: d[c].to_numpy(float).reshape(len(chains), n) for c in d.columns
                if c.startswith(COMPARED) or c == "sigma"}
    raise PybrmsError(f"verify needs a Bayesian fit with draws, got {type(fit).__name__}")


def verify(fit_a: Any, fit_b: Any, *, z_max: float = 3.0, sd_tolerance: float | None = None,
           conf_level: float = 0.95, parameters: Sequence[str] | None = None) -> Verification:
    """Compare two Bayesian fits of one model parameter by parameter.

    Parameters
    ----------
    fit_a, fit_b : FitResult
        Fits with draws (``FastFit``, ``BrmsFit``), e.g. ``fast`` and ``brms``.
    z_max : float
        A parameter agrees when ``|z| <= z_max`` (difference of means in combined MCSEs)...
    sd_tolerance : float, optional
        ...and its SD ratio is within ``[1 / (1 + t), 1 + t]``. Default: per parameter,
        four combined relative MC errors of an SD, ``4 * sqrt((k_a - 1) / (4 ess_a) + (k_b -
        1) / (4 ess_b))`` with each fit's kurtosis ``k`` (3 for a normal posterior, larger for
        the skewed posterior of a group SD) and the smaller of its bulk and tail ESS; at
        least 0.1.
    conf_level : float
        Level of the central intervals whose overlap is reported.
    parameters : sequence of str, optional
        Compare only these (default: every ``b_``, ``sd_``, ``cor_`` and ``sigma`` the two
        fits share).

    Returns
    -------
    Verification

    Raises
    ------
    PybrmsError
        If a fit has no draws, or the fits share no parameter (different models).
    """
    import arviz as az

    a, b = _arrays(fit_a), _arrays(fit_b)
    shared = [p for p in a if p in b]
    if parameters is not None:
        missing = [p for p in parameters if p not in shared]
        if missing:
            raise PybrmsError(f"verify: parameter(s) {missing} are not in both fits; "
                              f"shared: {shared}")
        shared = list(parameters)
    if not shared:
        raise PybrmsError(
            f"verify: the fits share no parameter (fit a has {sorted(a)[:8]}, fit b "
            f"{sorted(b)[:8]}); are they the same model?"
        )
    only = sorted(set(a) ^ set(b)) if parameters is None else []
    lo, hi = (1 - conf_level) / 2, 1 - (1 - conf_level) / 2
    rows = []
    for p in shared:
        xa, xb = a[p], b[p]
        ma, mb = float(xa.mean()), float(xb.mean())
        ea = float(np.ravel(az.mcse(xa, method="mean"))[0])
        eb = float(np.ravel(az.mcse(xb, method="mean"))[0])
        sa, sb = float(xa.std(ddof=1)), float(xb.std(ddof=1))
        essa = float(np.ravel(az.ess(xa, method="bulk"))[0])
        essb = float(np.ravel(az.ess(xb, method="bulk"))[0])
        # an SD's MC error follows the tails (the smaller of bulk and tail ESS) and the
        # kurtosis k: relative error of a sample SD = sqrt((k - 1) / (4 n))
        tail_a = min(essa, float(np.ravel(az.ess(xa, method="tail"))[0]))
        tail_b = min(essb, float(np.ravel(az.ess(xb, method="tail"))[0]))
        ka, kb = _kurtosis(xa), _kurtosis(xb)
        se = float(np.hypot(ea, eb))
        z = (ma - mb) / se if se > 0 else (0.0 if ma == mb else np.inf)
        ratio = sa / sb if sb > 0 else np.nan
        tol = sd_tolerance if sd_tolerance is not None else max(
            0.1, 4.0 * float(np.sqrt((ka - 1) / (4 * tail_a) + (kb - 1) / (4 * tail_b))))
        qa, qb = np.quantile(xa, [lo, hi]), np.quantile(xb, [lo, hi])
        inter = max(0.0, min(qa[1], qb[1]) - max(qa[0], qb[0]))
        union = max(qa[1], qb[1]) - min(qa[0], qb[0])
        overlap = inter / union if union > 0 else 1.0
        ok = bool(abs(z) <= z_max and 1 / (1 + tol) <= ratio <= 1 + tol)
        rows.append({"parameter": p, "mean_a": ma, "mean_b": mb, "mcse_a": ea, "mcse_b": eb,
                     "z": z, "sd_a": sa, "sd_b": sb, "sd_ratio": ratio,
                     "sd_ratio_tolerance": tol, "ess_a": essa, "ess_b": essb,
                     "overlap": overlap, "ok": ok})
    table = pd.DataFrame(rows, columns=list(VERIFY_COLUMNS))
    bad = table.loc[~table["ok"], "parameter"].tolist()
    engines = (str(getattr(fit_a, "engine", "a")), str(getattr(fit_b, "engine", "b")))
    problems = []
    if bad:
        problems.append(f"{len(bad)} of {len(table)} parameter(s) outside tolerance "
                        f"(|z| <= {z_max:g}, SD ratio): {', '.join(bad)}")
    if only:  # the two fits are not the same model
        problems.append(f"parameter(s) in one fit only: {', '.join(only[:8])}")
    if problems:
        verdict = "disagree: " + "; ".join(problems)
    else:
        verdict = (f"agree: {len(table)} of {len(table)} parameters within tolerance "
                   f"(max |z| = {table['z'].abs().max():.2f})")
    return Verification(table=table, engines=engines, z_max=z_max, ok=not problems,
                        verdict=verdict)


def _kurtosis(x: np.ndarray) -> float:
    """Pearson's kurtosis of the pooled draws (3 for a normal)."""
    d = np.ravel(x) - np.mean(x)
    v = float(np.mean(d**2))
    return float(np.mean(d**4)) / v**2 if v > 0 else 3.0
