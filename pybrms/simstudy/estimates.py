"""A study's records as tables: the estimates frame, the SBC ranks, the data check.

``estimates``: one row per condition x replicate x method x estimand with the condition
columns, ``rep``, ``method``, ``engine``, ``term``, ``estimate``, ``std_error``, ``conf_low``,
``conf_high``, ``p_value``, ``post_prob``, ``truth``, ``converged``, ``singular``, the sampler's
``divergences``, ``rhat_max``, ``ess_bulk_min``, ``seconds`` (the fit, wall), ``cpu_seconds`` (its CPU time),
``stan_seconds`` (Stan's warm-up + sampling CPU seconds, brms), ``data_hash`` and ``error`` (non-empty for a failed fit, whose row
has no estimate): the frame :func:`pybrms.simstudy.performance.performance` takes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .tasks import ReplicateTask

#: columns of the estimates frame after the condition columns
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "rep", "method", "engine", "term", "estimate", "std_error", "conf_low", "conf_high",
    "p_value", "post_prob", "truth", "converged", "singular", "divergences", "rhat_max",
    "ess_bulk_min", "seconds", "cpu_seconds", "stan_seconds", "data_hash", "error",
)
_TIDY = ("estimate", "std_error", "conf_low", "conf_high", "p_value", "post_prob")


def _num(v: Any) -> float:
    return float(v) if v is not None else np.nan


def estimates_frame(tasks: Sequence[ReplicateTask], records: Mapping[str, dict[str, Any]],
                    failed: Mapping[str, str], focus: Sequence[str],
                    axes: Sequence[str]) -> pd.DataFrame:
    """One row per task x estimand (a failed or missing fit gives rows with its ``error``).

    Parameters
    ----------
    tasks : sequence of ReplicateTask
        The study's tasks (their condition, replicate, method).
    records : mapping
        Task name -> record.
    failed : mapping
        Task name -> error.
    focus : sequence of str
        The estimands; empty: every term with a true value.
    axes : sequence of str
        The condition columns.
    """
    rows = []
    for t in tasks:
        rec = records.get(t.name)
        base = {**{a: t.condition.get(a) for a in axes}, "rep": t.rep, "method": t.method,
                "engine": t.engine}
        if rec is None:
            error = failed.get(t.name, "not run")
            for term in focus:
                rows.append({**base, "term": term, "error": error.splitlines()[0][:300]})
            continue
        tidy = {r["term"]: r for r in rec.get("tidy", [])}
        truth = rec.get("truth", {})
        diag = rec.get("diagnostics") or {}
        terms = list(focus) or list(truth)
        for term in terms:
            r = tidy.get(term)
            row = {**base, "term": term, "truth": _num(truth.get(term)),
                   "converged": bool(rec.get("converged", False)),
                   "singular": bool(rec.get("singular", False)),
                   "divergences": _num(diag.get("divergences")),
                   "rhat_max": _num(diag.get("rhat_max")),
                   "ess_bulk_min": _num(diag.get("ess_bulk_min")),
                   "seconds": _num(rec.get("seconds")),
                   "cpu_seconds": _num(rec.get("cpu_seconds")),
                   "stan_seconds": _num(rec.get("stan_seconds")),
                   "data_hash": rec.get("data_hash", ""), "error": ""}
            if r is None:
                row["error"] = f"{t.method} gave no estimate of {term!r}"
            else:
                row.update({c: _num(r.get(c)) for c in _TIDY})
            rows.append(row)
    df = pd.DataFrame(rows, columns=[*axes, *ESTIMATE_COLUMNS])
    for c in _TIDY + ("truth", "divergences", "rhat_max", "ess_bulk_min", "seconds",
                      "cpu_seconds", "stan_seconds"):
        df[c] = df[c].astype(float)
    df["error"] = df["error"].fillna("")
    for c in ("converged", "singular"):  # a failed fit has neither: False
        df[c] = [bool(v) if isinstance(v, (bool, np.bool_)) else False for v in df[c]]
    return df


def same_data(estimates: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Replicates whose methods did not all see one data set (should be empty)."""
    ok = estimates[estimates["data_hash"].fillna("") != ""]
    if ok.empty:
        return pd.DataFrame(columns=[*axes, "rep", "data_sets"])
    n = ok.groupby([*axes, "rep"], dropna=False)["data_hash"].nunique().rename("data_sets")
    return n[n > 1].reset_index()


def ranks_frame(tasks: Sequence[ReplicateTask], records: Mapping[str, dict[str, Any]],
                axes: Sequence[str]) -> pd.DataFrame:
    """The SBC ranks of every fit that has them: condition columns, ``rep``, ``method``,
    ``variable``, ``simulated_value``, ``rank``, ``max_rank``.
    """
    rows = []
    for t in tasks:
        rec = records.get(t.name)
        for r in (rec or {}).get("sbc", []) or []:
            rows.append({**{a: t.condition.get(a) for a in axes}, "rep": t.rep,
                         "method": t.method, **r})
    return pd.DataFrame(rows, columns=[*axes, "rep", "method", "variable", "simulated_value",
                                       "rank", "max_rank"])
