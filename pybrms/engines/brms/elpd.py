"""R's PSIS-LOO and WAIC as ArviZ ``ELPDData``, and back to R for ``loo::loo_compare``.

An ArviZ user reads ``elpd.elpd_loo``, ``elpd.pareto_k`` and compares models with
``arviz.compare({name: elpd, ...})``. :func:`loo_elpd_data` and :func:`waic_elpd_data` fill
that object with the numbers R's loo package computed for the brms fit (``brms::loo``, with
moment matching or reloo when asked), not with ArviZ's recomputation from the log-likelihood
(the two differ in the last digits: loo's Pareto smoothing and relative efficiencies are not
ArviZ's). The layout is ArviZ 0.23's pointwise ELPDData (``elpd_loo``, ``se``, ``p_loo``,
``n_samples``, ``n_data_points``, ``warning``, ``loo_i``, ``pareto_k``, ``scale``,
``good_k``; for WAIC ``elpd_waic``, ``se``, ``p_waic``, ..., ``waic_i``, ``scale``), plus one
entry ArviZ does not have: ``se_p_loo`` (``se_p_waic``), the SE of ``p_loo`` in R's estimates
table, so that :func:`pybrms.loo_compare` rebuilds R's loo object and returns R's own
comparison table from these objects alone (:func:`r_parts`).

``good_k`` is 0.7, loo 2.5.1's threshold for a reliable Pareto k (and brms's ``k_threshold``
default): ArviZ 0.23 computes ``min(1 - 1/log10(S), 0.7)``, a later loo's rule. ``warning``
is True when a Pareto k exceeds it (LOO) or a ``p_waic`` exceeds 0.4 (WAIC), the cases in
which R's loo warns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import PybrmsError

#: loo 2.5.1's threshold above which a Pareto k makes PSIS unreliable
GOOD_K = 0.7

#: the criteria an ELPDData can hold, by the name of its first entry
KINDS = {"elpd_loo": "loo", "elpd_waic": "waic"}


def _estimates(table: dict[str, Any]) -> dict[str, tuple[float, float]]:
    est = table["estimates"].set_index("metric")
    return {m: (float(est.loc[m, "Estimate"]), float(est.loc[m, "SE"])) for m in est.index}


def _pointwise(values: Any, name: str) -> Any:
    import xarray as xr

    v = np.atleast_1d(np.asarray(values, dtype=float))
    return xr.DataArray(v, dims=["obs"], coords={"obs": np.arange(v.size)}, name=name)


def loo_elpd_data(table: dict[str, Any]) -> Any:
    """An ArviZ ``ELPDData`` (pointwise) holding R's PSIS-LOO results.

    Parameters
    ----------
    table : dict
        What R's ``pybrms_loo_table`` returns for a ``loo`` object: ``estimates`` (metric,
        Estimate, SE), ``pointwise`` (brms's columns), ``pareto_k``, ``n_samples``.

    Returns
    -------
    arviz.ELPDData
        ``elpd_loo``, ``se``, ``p_loo`` from R's estimates; ``loo_i`` and ``pareto_k`` from
        R's pointwise values (dimension ``obs``); ``scale`` "log"; ``se_p_loo``.

    """
    from arviz import ELPDData

    est = _estimates(table)
    pw = table["pointwise"]
    k = np.atleast_1d(np.asarray(table["pareto_k"], dtype=float))
    return ELPDData(
        data=[est["elpd_loo"][0], est["elpd_loo"][1], est["p_loo"][0],
              int(table["n_samples"]), len(pw), bool(np.any(k > GOOD_K)),
              _pointwise(pw["elpd_loo"], "loo_i"), _pointwise(k, "pareto_shape"), "log",
              GOOD_K, est["p_loo"][1]],
        index=["elpd_loo", "se", "p_loo", "n_samples", "n_data_points", "warning", "loo_i",
               "pareto_k", "scale", "good_k", "se_p_loo"],
    )


def waic_elpd_data(table: dict[str, Any]) -> Any:
    """An ArviZ ``ELPDData`` (pointwise) holding R's WAIC results.

    Parameters
    ----------
    table : dict
        What R's ``pybrms_waic`` returns: ``estimates``, ``pointwise``, ``n_high_p_waic``,
        ``n_samples``.

    Returns
    -------
    arviz.ELPDData
        ``elpd_waic``, ``se``, ``p_waic``, ``waic_i`` (R's pointwise elpd_waic), ``scale``
        "log", ``se_p_waic``.

    """
    from arviz import ELPDData

    est = _estimates(table)
    pw = table["pointwise"]
    return ELPDData(
        data=[est["elpd_waic"][0], est["elpd_waic"][1], est["p_waic"][0],
              int(table["n_samples"]), len(pw), int(table["n_high_p_waic"]) > 0,
              _pointwise(pw["elpd_waic"], "waic_i"), "log", est["p_waic"][1]],
        index=["elpd_waic", "se", "p_waic", "n_samples", "n_data_points", "warning", "waic_i",
               "scale", "se_p_waic"],
    )


def is_elpd_data(obj: Any) -> bool:
    """Whether ``obj`` is an ArviZ ``ELPDData`` (without importing ArviZ for other objects)."""
    return any(c.__name__ == "ELPDData" for c in type(obj).__mro__)


def kind(elpd: Any) -> str:
    """``"loo"`` or ``"waic"``: the criterion an ``ELPDData`` holds."""
    first = str(elpd.index[0]) if len(elpd.index) else ""
    if first not in KINDS:
        raise PybrmsError(f"an ELPDData of LOO or WAIC starts with elpd_loo or elpd_waic, "
                          f"got {first!r}")
    return KINDS[first]


def r_parts(elpd: Any) -> dict[str, Any]:
    """What R needs to rebuild the loo (waic) object of an ``ELPDData`` made by
    ``fit.loo(arviz=True)`` / ``fit.waic(arviz=True)`` (R's ``pybrms_loo_rebuild``).

    Raises
    ------
    PybrmsError
        If it is not on the log scale, has no pointwise values, or lacks ``se_p_loo``
        (an ELPDData ArviZ computed itself: compare those with ``arviz.compare``).
    """
    k = kind(elpd)
    se_p, pointwise = f"se_p_{k}", f"{k}_i"
    if elpd.get("scale") != "log":
        raise PybrmsError(f"loo_compare needs ELPDData on the log scale, got scale="
                          f"{elpd.get('scale')!r}")
    if se_p not in elpd.index or pointwise not in elpd.index:
        raise PybrmsError(
            f"this ELPDData lacks {se_p!r} or {pointwise!r}: it was not made by pybrms's "
            f"fit.{k}(arviz=True), so it does not hold R's estimates. Compare ArviZ's own "
            "results with arviz.compare")
    return {"kind": k, "elpd": float(elpd[f"elpd_{k}"]), "se": float(elpd["se"]),
            "p": float(elpd[f"p_{k}"]), "se_p": float(elpd[se_p]),
            "elpd_i": np.asarray(elpd[pointwise], dtype=float).ravel(),
            "n_samples": int(elpd["n_samples"])}
