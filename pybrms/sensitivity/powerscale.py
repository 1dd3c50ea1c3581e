"""Prior and likelihood sensitivity by power-scaling, from one fit's draws (no refit).

The method of Kallioinen, Paananen, Bürkner and Vehtari (2024), "Detecting and diagnosing prior
and likelihood sensitivity with power-scaling", Statistics and Computing 34:57 (R package
priorsense): raise the prior (or the likelihood) to a power ``alpha`` near 1; the posterior
under that change is the current one reweighted by ``exp((alpha - 1) * log p)``, with the
weights Pareto-smoothed (PSIS). A parameter's sensitivity is the cumulative Jensen-Shannon
(CJS) distance between the base and the power-scaled posterior, per unit of ``log2(alpha)``,
averaged over ``alpha = 1 / (1 + delta)`` and ``1 + delta`` (``delta = 0.01``). Sensitivity of
0.05 or more to the prior *and* the likelihood flags a possible prior-data conflict; to the
prior only, a strong prior with a weak likelihood.

**ArviZ computes the sensitivities** (:func:`arviz.psens`, ArviZ 0.23): the weights
(:func:`arviz.psislw`), the CJS distance and the finite difference. It is the current
priorsense's definition: for reweighted draws the ECDFs step at the sorted draws and stop at
the largest ("natural bins", priorsense since May 2022 and its CRAN 1.0).
``tests/fast/test_sensitivity_powerscale.py`` writes that definition out and finds
:func:`arviz.psens` equal to it on the same draws, ``lprior`` and ``log_lik`` to 1e-8
relative (1e-7 absolute for values near 0, where the divergences are rounding error). (pybrms before ArviZ followed the 2021 priorsense,
whose ECDFs ran one extra step past the largest draw; with 4000 draws of a normal posterior
that gave values 0.4-6 % lower.)

**What pybrms adds, because ArviZ lacks it:**

* brms's names and components. brms 2.18 keeps the log prior density as one draws column,
  ``lprior``, the sum over every prior (it has no per-prior split, so all priors are
  power-scaled together, priorsense's default), and the log-likelihood as ``log_lik()``, a
  draws x observations matrix; :func:`inference_data` puts them in the ``log_prior`` and
  ``log_likelihood`` groups :func:`arviz.psens` reads, and :func:`brms_power_scaling` reports
  the ``b_*`` coefficients under their tidy ``term`` names.
* The Pareto k of each power-scaling's importance weights, the reliability priorsense reports
  and :func:`arviz.psens` does not (:func:`power_weights`: :func:`arviz.psislw` of the same
  log weights psens smooths; above 0.7 the sensitivity is not to be trusted).
* priorsense's diagnosis (:func:`diagnose`); ArviZ returns the numbers only.

Still not priorsense's numbers to the last digit: priorsense 1.x scales by 0.99 and 1.01
(ArviZ and pybrms: 1/1.01 and 1.01) and smooths with ``posterior::pareto_smooth``, whose tail
length and relative efficiency differ from ArviZ's; priorsense is not packaged for this
machine's R, so the comparison is left for a machine that has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import bridge

#: priorsense's defaults
DELTA = 0.01
THRESHOLD = 0.05


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


def pareto_k(log_component: np.ndarray, delta: float = DELTA) -> float:
    """The larger Pareto k of the two power-scalings (``1 / (1 + delta)`` and ``1 + delta``)."""
    return max(power_weights(log_component, 1.0 / (1.0 + delta))[1],
               power_weights(log_component, 1.0 + delta)[1])


def inference_data(draws: Mapping[str, np.ndarray], lprior: np.ndarray,
                   log_lik: np.ndarray) -> Any:
    """The draws as :func:`arviz.psens` reads them, as one chain: ``posterior`` (the
    parameters), ``log_prior`` (``lprior``) and ``log_likelihood`` (``log_lik``, draws x
    observations, or one summed value per draw).
    """
    import arviz as az

    ll = np.asarray(log_lik, dtype=float)
    idata = az.from_dict(
        posterior={name: np.asarray(x, dtype=float)[None, :] for name, x in draws.items()},
        log_likelihood={"log_lik": ll[None, ...]},
    )
    idata.add_groups({"log_prior": {"lprior": np.asarray(lprior, dtype=float)[None, :]}})
    return idata


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
        Parameter draws (one value per draw).
    lprior : array
        Log prior density at each draw (brms's ``lprior``).
    log_lik : array
        Log likelihood at each draw: a vector (summed) or a draws x observations matrix.
    delta, threshold : float
        Step and flag threshold (priorsense's defaults).

    Returns
    -------
    list of dict
        One row per parameter: ``term``, ``prior``, ``likelihood`` (:func:`arviz.psens`),
        ``diagnosis`` (:func:`diagnose`), ``pareto_k_prior``, ``pareto_k_likelihood``
        (:func:`pareto_k`).
    """
    import arviz as az

    if not draws:
        return []
    ll = np.asarray(log_lik, dtype=float)
    idata = inference_data(draws, lprior, ll)
    with np.errstate(over="ignore"):  # as in power_weights
        prior = az.psens(idata, component="prior", delta=delta)
        lik = az.psens(idata, component="likelihood", delta=delta)
    k_prior = pareto_k(lprior, delta)
    k_lik = pareto_k(ll.sum(axis=1) if ll.ndim == 2 else ll, delta)
    rows = []
    for name in draws:
        p, lk = float(prior[name]), float(lik[name])
        rows.append({"term": name, "prior": p, "likelihood": lk,
                     "diagnosis": diagnose(p, lk, threshold),
                     "pareto_k_prior": k_prior, "pareto_k_likelihood": k_lik})
    return rows


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
