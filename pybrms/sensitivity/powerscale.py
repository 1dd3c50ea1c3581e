"""Prior and likelihood sensitivity by power-scaling, from one fit's draws (no refit).

The method of Kallioinen, Paananen, Bürkner and Vehtari (2024), "Detecting and diagnosing prior
and likelihood sensitivity with power-scaling", Statistics and Computing 34:57 (R package
priorsense): raise the prior (or the likelihood) to a power ``alpha`` near 1; the posterior
under that change is the current one reweighted by ``exp((alpha - 1) * log p)``, with the
weights Pareto-smoothed (PSIS, :func:`arviz.psislw`). A parameter's sensitivity is the
cumulative Jensen-Shannon distance between the base and the power-scaled posterior, per unit of
``log2(alpha)``, averaged over ``alpha = 1 / (1 + delta)`` and ``1 + delta`` (``delta = 0.01``).
Sensitivity above ``threshold`` (0.05) to the prior *and* the likelihood flags a possible
prior-data conflict; to the prior only, a strong prior with a weak likelihood.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import bridge

#: priorsense's defaults
DELTA = 0.01
THRESHOLD = 0.05


def _ecdf_at(x_sorted: np.ndarray, w_sorted: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Weighted ECDF of ``x_sorted`` (weights normalised) evaluated at ``points``."""
    cum = np.concatenate([[0.0], np.cumsum(w_sorted)])
    return cum[np.searchsorted(x_sorted, points, side="right")]


def _cjs_one_way(x: np.ndarray, wp: np.ndarray, y: np.ndarray, wq: np.ndarray) -> float:
    """The ``cjs_dist`` of priorsense (metric form) of P (x, wp) and Q (y, wq), sorted draws."""
    def widths(v: np.ndarray) -> np.ndarray:
        end = v[-1] + (v[-1] - v[-2])
        return np.diff(np.concatenate([v, [end]]))

    xd, yd = widths(x), widths(y)
    px, qx = _ecdf_at(x, wp, x), _ecdf_at(y, wq, x)
    py, qy = _ecdf_at(x, wp, y), _ecdf_at(y, wq, y)
    px_int, qx_int = float(px @ xd), float(qx @ xd)
    py_int, qy_int = float(py @ yd), float(qy @ yd)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(px > 0, px * (np.log2(px) - np.log2(0.5 * px + 0.5 * qx)), 0.0)
        b = np.where(qy > 0, qy * (np.log2(qy) - np.log2(0.5 * qy + 0.5 * py)), 0.0)
    cjs_pq = float(xd @ a) + 0.5 / np.log(2) * (qx_int - px_int)
    cjs_qp = float(yd @ b) + 0.5 / np.log(2) * (py_int - qy_int)
    bound = px_int + qy_int
    return float(np.sqrt(max(cjs_pq + cjs_qp, 0.0)) / np.sqrt(bound)) if bound > 0 else 0.0


def cjs_distance(x: np.ndarray, base_weights: np.ndarray | None,
                 new_weights: np.ndarray) -> float:
    """Cumulative Jensen-Shannon distance between two weightings of the same draws.

    Unsigned, as priorsense: the larger of the distances of ``x`` and of ``-x`` (the CJS is
    not symmetric in the direction of the axis).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    wp = np.full(n, 1.0 / n) if base_weights is None else np.asarray(base_weights, float)
    wq = np.asarray(new_weights, dtype=float)
    wp, wq = wp / wp.sum(), wq / wq.sum()
    out = 0.0
    for v in (x, -x):
        order = np.argsort(v, kind="stable")
        vs = v[order]
        out = max(out, _cjs_one_way(vs, wp[order], vs, wq[order]))
    return out


def power_weights(log_component: np.ndarray, alpha: float, reff: float = 1.0
                  ) -> tuple[np.ndarray, float]:
    """PSIS-smoothed normalised weights of power-scaling a component by ``alpha``.

    Returns
    -------
    weights : ndarray
        Sum to 1.
    pareto_k : float
        Reliability: above 0.7 the weights are not to be trusted.
    """
    import arviz as az

    lw = (alpha - 1.0) * np.asarray(log_component, dtype=float)
    with np.errstate(over="ignore"):  # arviz's tail-length weights overflow harmlessly
        slw, k = az.psislw(lw - lw.max(), reff=reff)
    w = np.exp(np.asarray(slw, dtype=float))
    return w / w.sum(), float(k)


def sensitivity(draws: Mapping[str, np.ndarray], log_component: np.ndarray,
                delta: float = DELTA) -> dict[str, Any]:
    """Power-scaling sensitivity of each parameter to one component (prior or likelihood).

    Parameters
    ----------
    draws : mapping of str to array
        Parameter name -> draws (one value per draw).
    log_component : array
        The component's log density at each draw: ``lprior`` or the summed ``log_lik``.
    delta : float
        Power-scaling step.

    Returns
    -------
    dict
        ``values`` (parameter -> sensitivity) and ``pareto_k`` (largest of the two alphas').
    """
    lo, hi = 1.0 / (1.0 + delta), 1.0 + delta
    w_lo, k_lo = power_weights(log_component, lo)
    w_hi, k_hi = power_weights(log_component, hi)
    values = {}
    for name, x in draws.items():
        d_lo = cjs_distance(x, None, w_lo)
        d_hi = cjs_distance(x, None, w_hi)
        values[name] = (d_lo / abs(np.log2(lo)) + d_hi / abs(np.log2(hi))) / 2
    return {"values": values, "pareto_k": max(k_lo, k_hi)}


def diagnose(prior: float, likelihood: float, threshold: float = THRESHOLD) -> str:
    """The diagnosis of priorsense for one parameter."""
    if prior >= threshold and likelihood >= threshold:
        return "prior-data conflict"
    if prior >= threshold:
        return "strong prior / weak likelihood"
    return "-"


def power_scaling(draws: Mapping[str, np.ndarray], lprior: np.ndarray, log_lik: np.ndarray,
                  delta: float = DELTA, threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """Prior and likelihood sensitivity of every parameter in ``draws``.

    Parameters
    ----------
    draws : mapping of str to array
        Parameter draws.
    lprior : array
        Log prior density at each draw (brms's ``lprior``).
    log_lik : array
        Log likelihood at each draw: a vector (summed) or a draws x observations matrix.
    delta, threshold : float
        Step and flag threshold (priorsense's defaults).

    Returns
    -------
    list of dict
        One row per parameter: ``term``, ``prior``, ``likelihood``, ``diagnosis``,
        ``pareto_k_prior``, ``pareto_k_likelihood``.
    """
    ll = np.asarray(log_lik, dtype=float)
    if ll.ndim == 2:
        ll = ll.sum(axis=1)
    p = sensitivity(draws, lprior, delta)
    lk = sensitivity(draws, ll, delta)
    return [{"term": name, "prior": p["values"][name], "likelihood": lk["values"][name],
             "diagnosis": diagnose(p["values"][name], lk["values"][name], threshold),
             "pareto_k_prior": p["pareto_k"], "pareto_k_likelihood": lk["pareto_k"]}
            for name in draws]


def brms_power_scaling(fit: Any) -> list[dict[str, Any]]:
    """:func:`power_scaling` of a brms fit's population-level coefficients (``b_*``).

    Uses brms's own ``lprior`` draws and ``log_lik()`` matrix; rows are named as the tidy
    ``term`` (``b_x`` -> ``x``). Empty when the fit has no ``lprior`` (brms < 2.17).
    """
    d = fit.draws().sort_values([".chain", ".iteration"])
    if "lprior" not in d.columns:
        return []
    names = [c for c in d.columns if c.startswith("b_")]
    ll = bridge.r_matrix(bridge.call("pybrms_log_lik", fit.r))
    rows = power_scaling({n: d[n].to_numpy() for n in names}, d["lprior"].to_numpy(), ll)
    for r in rows:
        r["term"] = r["term"][2:]
    return rows
