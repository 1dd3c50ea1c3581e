"""Fit one unit of the plan and reduce it to a JSON record (what the tables and report read).

A record is the run engine's (:func:`pybrms.runs.fitting.fit_record`: tidy rows, diagnostics,
warnings, provenance) plus the hypotheses of the unit's specs (brms's own ``hypothesis()``
rows with the normal-tail evidence ratios of :mod:`pybrms.compare.evidence`, or frequentist
one-sided p-values) and, for LOO models, PSIS-LOO with its pointwise ELPD.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ....compare.agreement import one_sided_p
from ....compare.evidence import tail_evidence_ratio
from ....compare.table import simple_hypothesis
from ....engines import capabilities
from ....runs.fitting import FitRequest, fit_record, frame_records
from ....spec.formula import parse_formula
from ....spec.hypotheses import parse_hypothesis
from ....spec.priors import prior
from ..frames import AnalysisFrames
from .plan import Unit


def _brms_hypotheses(fit: Any, texts: list[str]) -> list[dict[str, Any]]:
    """Return brms's ``hypothesis()`` rows, each with its term/direction and tail ER estimate."""
    if not texts:
        return []
    table = fit.hypothesis(texts, alpha=0.05)
    summary = fit.summary().set_index("variable")
    rows = frame_records(table)
    simple = [simple_hypothesis(parse_hypothesis(t)) for t in texts]
    names = [f"b_{s[0]}" for s in simple if s is not None]
    draws = fit.draws(names) if names else pd.DataFrame()
    for text, row, s in zip(texts, rows, simple, strict=True):
        row["text"] = text
        if s is None:
            row.update(term=None, direction=None, value=None, tail=None)
            continue
        term, direction, value = s
        col = f"b_{term}"
        ess = float(summary.loc[col, "ess_bulk"]) if col in summary.index else None
        tail = tail_evidence_ratio(draws[col].to_numpy(), direction, value, ess=ess,
                                   chains=draws[".chain"].to_numpy())
        row.update(term=term, direction=direction, value=value, tail=tail.to_dict())
    return rows


def _frequentist_hypotheses(tidy: pd.DataFrame, texts: list[str]) -> list[dict[str, Any]]:
    """One-sided p-values of single-term hypotheses from a frequentist tidy frame."""
    rows = []
    by_term = tidy.set_index("term")
    for text in texts:
        s = simple_hypothesis(parse_hypothesis(text))
        row: dict[str, Any] = {"text": text, "term": None, "direction": None, "value": None,
                               "p_one_sided": None, "reference": None}
        if s is not None and s[0] in by_term.index:
            term, direction, value = s
            r = by_term.loc[term]
            p, how = one_sided_p(float(r["estimate"]), float(r["std_error"]),
                                 float(r.get("statistic", np.nan)),
                                 float(r.get("p_value", np.nan)), direction, value)
            row.update(term=term, direction=direction, value=value, p_one_sided=p, reference=how)
        elif s is not None:
            row.update(term=s[0], direction=s[1], value=s[2])
        rows.append(row)
    return rows


def unit_data(frames: AnalysisFrames, unit: Unit) -> pd.DataFrame:
    """The rows and columns a unit fits: its frame, conversation type and formula's columns."""
    m = unit.model
    df = frames[m.frame]
    convo = m.convo_types[0] if len(m.convo_types) == 1 else "all"
    if convo != "all":
        df = df[df["conversation_type"] == convo]
    used = sorted(parse_formula(m.formula).variables)
    return df.loc[:, used].reset_index(drop=True)


def request(unit: Unit, data: pd.DataFrame, *, cores: int = 1, quiet: bool = False
            ) -> FitRequest:
    """The fit a unit asks for: its model, priors and the specs' sampler settings."""
    m = unit.model
    options = {"chains": m.chains, "iter": m.iter, "warmup": m.warmup, "seed": m.seed,
               "cores": cores, "quiet": quiet, "diagnose": False}
    return FitRequest(unit.engine, m.formula, m.family, data,
                      [prior(p.prior, class_=p.class_) for p in m.priors], options, 0.95)


def fit_unit(
    unit: Unit,
    data: pd.DataFrame,
    *,
    fit_path: Any,
    cores: int = 1,
    echo: Callable[[str], None] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fit ``unit`` on ``data`` and return its record (without the plan key).

    Parameters
    ----------
    unit : Unit
        The model and engine.
    data : DataFrame
        The unit's rows (frame and conversation type already applied).
    fit_path : path
        Where a brms unit saves its brmsfit (``.rds``) before the record is written.
    cores : int
        Parallel chains for brms.
    echo : callable, optional
        Receives brms's console output (chain progress).
    quiet : bool
        Hide compile and sampling output.

    Returns
    -------
    dict
        The run engine's record (:func:`pybrms.runs.fitting.fit_record`: ``engine``,
        ``tidy``, ``converged``, ``warnings``, ``provenance``, ``seconds``...) with ``model``
        and ``hypotheses`` and, for LOO models, ``loo``.
    """
    caps = capabilities(unit.engine)
    texts = unit.hypotheses

    def add(fit: Any, record: dict[str, Any]) -> None:
        tidy = pd.DataFrame(record["tidy"])
        if caps.hypotheses:
            record["hypotheses"] = _brms_hypotheses(fit, texts)
        else:
            record["hypotheses"] = _frequentist_hypotheses(tidy[tidy["effect"] == "fixed"],
                                                           texts)
        if unit.needs_loo:
            loo = fit.loo()
            k = np.asarray(loo["pareto_k"], dtype=float)
            est = loo["estimates"]
            record["loo"] = {
                "estimates": frame_records(est) if isinstance(est, pd.DataFrame) else est,
                "pointwise_elpd": [float(v) for v in loo["pointwise_elpd"]],
                "pareto_k_over_0.7": int((k > 0.7).sum()),
                "pareto_k_max": float(np.nanmax(k)) if len(k) else float("nan"),
            }

    record, _fit = fit_record(request(unit, data, cores=cores, quiet=quiet), fit_path=fit_path,
                              extra_options={"echo": echo}, add=add)
    record["model"] = unit.model.name
    return record
