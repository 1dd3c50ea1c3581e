"""Fit one unit of the plan and reduce it to a JSON record (what the tables and report read).

A record holds, for every engine: the tidy population-level effects (95% intervals), the
hypotheses of the unit's specs (brms's own ``hypothesis()`` rows, or frequentist one-sided
p-values), warnings and provenance. brms records add the convergence diagnostics, the
normal-tail evidence ratios (:mod:`pybrms.compare.evidence`) and, for LOO models, PSIS-LOO with
its pointwise ELPD.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..compare.agreement import one_sided_p
from ..compare.evidence import tail_evidence_ratio
from ..compare.table import simple_hypothesis
from ..spec.hypotheses import parse_hypothesis
from ..spec.priors import prior
from .plan import Unit


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain dicts with Python scalars."""
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    return out


def _brms_hypotheses(fit: Any, texts: list[str]) -> list[dict[str, Any]]:
    """Return brms's ``hypothesis()`` rows, each with its term/direction and tail ER estimate."""
    if not texts:
        return []
    table = fit.hypothesis(texts, alpha=0.05)
    summary = fit.summary().set_index("variable")
    rows = _records(table)
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


def _brms_diagnostics(fit: Any) -> dict[str, Any]:
    """Diagnostics with the smallest bulk/tail ESS beside brmsfit.diagnostics()."""
    d = fit.diagnostics()
    s = fit.summary()
    s = s[s["variable"] != "lp__"]
    # a full-scale fit has ~10,000 parameters: keep the counts and the first names only
    for key in ("high_rhat", "low_ess"):
        d[f"n_{key}"] = len(d[key])
        d[key] = d[key][:20]
    d["ess_bulk_min"] = float(np.nanmin(s["ess_bulk"]))
    d["ess_tail_min"] = float(np.nanmin(s["ess_tail"]))
    d["n_parameters"] = int(len(s))
    return d


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
        ``engine``, ``model``, ``tidy``, ``hypotheses``, ``warnings``, ``provenance``,
        ``seconds``, ``n_rows`` and, for brms, ``diagnostics``, ``stan_program``,
        ``compiled``, ``loo``.
    """
    from ..engines import get_engine
    from ..spec.model import FitSpec

    m = unit.model
    engine = get_engine(unit.engine)
    caps = engine.capabilities
    t0 = time.perf_counter()
    texts = unit.hypotheses
    record: dict[str, Any] = {"engine": unit.engine, "model": m.name, "n_rows": int(len(data))}
    spec = FitSpec.build(m.formula, data, m.family,
                         [prior(p.prior, class_=p.class_) for p in m.priors])
    wanted = {"chains": m.chains, "iter": m.iter, "warmup": m.warmup, "seed": m.seed,
              "cores": cores, "quiet": quiet, "echo": echo, "diagnose": False}
    opts = engine.options.build({k: v for k, v in wanted.items()
                                 if k in engine.options.names()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = engine.fit(spec, opts)
        if caps.saves_native:
            fit.save(fit_path)
        tidy = fit.tidy(conf_level=0.95)
        record["tidy"] = _records(tidy)
        if caps.hypotheses:
            record["hypotheses"] = _brms_hypotheses(fit, texts)
        else:
            record["hypotheses"] = _frequentist_hypotheses(
                tidy[tidy["effect"] == "fixed"], texts)
        if caps.draws:
            record["diagnostics"] = _brms_diagnostics(fit)
        if caps.compiles:
            record["stan_program"] = fit.provenance["details"]["stan_program"]
            record["compiled"] = bool(fit.provenance["details"]["compiled"])
        if unit.needs_loo:
            loo = fit.loo()
            k = np.asarray(loo["pareto_k"], dtype=float)
            est = loo["estimates"]
            record["loo"] = {
                "estimates": _records(est) if isinstance(est, pd.DataFrame) else est,
                "pointwise_elpd": [float(v) for v in loo["pointwise_elpd"]],
                "pareto_k_over_0.7": int((k > 0.7).sum()),
                "pareto_k_max": float(np.nanmax(k)) if len(k) else float("nan"),
            }
        record["singular"] = bool(fit.singular)
        record["converged"] = bool(fit.converged)
        provenance = fit.provenance
    own = [str(w) for w in fit.warnings]
    # an engine re-emits its own warnings (e.g. Lme4Warning "lme4 (formula): message"): keep
    # each once, in the engine's words
    other = [f"{w.category.__name__}: {w.message}" for w in caught
             if not any(o in str(w.message) for o in own)]
    record["warnings"] = list(dict.fromkeys(own + other))
    record["provenance"] = provenance
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record
