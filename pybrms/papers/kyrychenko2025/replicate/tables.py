"""Tables 2-4 in the paper's layout, and the tables set beside them, from unit records.

Pure Python over the JSON records of :mod:`.fitting` (no R): the report can be rebuilt from
checkpoints alone.

* :func:`paper_tables` -- Hypothesis, Estimate, Est.Error, CI.Lower, CI.Upper, BF, Post.Prob,
  Star (the paper's rule: ``*`` for BF > 100, ``†`` for BF > 10) and the conversation type (Table
  2) or DV (Table 4); beside BF, the normal-tail estimate of an evidence ratio beyond the draw
  limit (:mod:`pybrms.compare.evidence`), clearly labelled.
* :func:`translations` -- the Results' ``(exp(beta) - 1) * 10%``: the change in the odds of the
  highest score (1a) or in the score (1b) for a 10-point increase in an attribute's probability.
* :func:`published_vs_reproduced` -- each published row beside its reproduction.
* :func:`frequentist_tables`, :func:`diagnostics_table`, :func:`loo_table`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ....compare.evidence import format_power
from ....compare.table import compare
from ....results import TIDY_COLUMNS
from ..published import load_published
from .plan import Plan
from .schema import CONVO_TYPE_LABELS, ModelSpec, TableRef

#: Sections of each table, in the paper's order (analysis id -> heading).
SECTIONS: dict[str, dict[str, str]] = {
    "table2": {"1a": "(a) Analysis 1a: highest score (bernoulli)",
               "1b": "(b) Analysis 1b: log score (gaussian)",
               "interaction_toxicity": "Interaction (dv: log-transformed score)"},
    "table3": {"2": "Analysis 2: moderators x attributes (dv: log-transformed score)"},
    "table4": {"3": "Analysis 3: response attributes on prompt attributes"},
}
TITLES = {"table2": "Table 2", "table3": "Table 3", "table4": "Table 4"}
PAPER_COLUMNS = ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper", "BF",
                 "BF.tail", "Post.Prob", "Star"]


def paper_star(bf: float) -> str:
    """The paper's star: ``*`` for BF > 100, ``†`` for BF > 10, else empty."""
    if bf is None or (isinstance(bf, float) and math.isnan(bf)):
        return ""
    return "*" if bf > 100 else "†" if bf > 10 else ""


def _extra_column(table: str) -> str | None:
    return {"table2": "convo_type", "table4": "dv"}.get(table)


def _ref_rows(plan: Plan, records: dict[str, dict[str, Any]]):
    """Yield (model spec, table ref, role, brms record, hypothesis row) for reported hypotheses."""
    for m in plan.models:
        unit = plan.unit_of(m.name, plan.reference)
        record = records.get(unit.name) if unit is not None else None
        if record is None:
            continue
        for ref, role in ((m.published, "reproduction"), (m.compare_with, "robustness")):
            if ref is None:
                continue
            by_text = {h["text"]: h for h in record.get("hypotheses", [])}
            for h in m.hypotheses:
                if h.published and h.text in by_text:
                    yield m, ref, role, record, by_text[h.text]


def _row(m: ModelSpec, ref: TableRef, role: str, h: dict[str, Any]) -> dict[str, Any]:
    bf = float(h["Evid.Ratio"])
    tail = h.get("tail") or {}
    row = {
        "table": ref.table, "analysis": ref.analysis, "model": m.name, "role": role,
        "Hypothesis": h["Hypothesis"], "Estimate": h["Estimate"], "Est.Error": h["Est.Error"],
        "CI.Lower": h["CI.Lower"], "CI.Upper": h["CI.Upper"], "BF": bf,
        "BF.tail": (f"≈{format_power(tail['log10_er'])} [{format_power(tail['log10_er_low'])}, "
                    f"{format_power(tail['log10_er_high'])}]") if tail else "",
        "log10_BF_tail": tail.get("log10_er", np.nan),
        "log10_BF_tail_low": tail.get("log10_er_low", np.nan),
        "log10_BF_tail_high": tail.get("log10_er_high", np.nan),
        "log10_BF_kernel": tail.get("log10_er_kernel", np.nan),
        "Post.Prob": h["Post.Prob"], "Star": paper_star(bf), "brms.Star": h.get("Star", ""),
        "term": h["term"], "direction": h["direction"],
        "draws": tail.get("n_draws", np.nan),
    }
    row["convo_type"] = CONVO_TYPE_LABELS[m.convo_types[0]]
    row["dv"] = m.response
    return row


def paper_tables(plan: Plan, records: dict[str, dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Tables 2, 3 and 4 as reproduced (reproduction rows only), keyed ``table2``...

    Returns
    -------
    dict of str to DataFrame
        Only tables with at least one row. Columns: ``table``, ``analysis``, ``section``,
        ``model``, :data:`PAPER_COLUMNS`, ``convo_type`` or ``dv``, and the raw fields
        (``term``, ``direction``, ``log10_BF_tail``..., ``draws``).
    """
    rows = [_row(m, ref, role, h) for m, ref, role, _, h in _ref_rows(plan, records)
            if role == "reproduction"]
    out = {}
    for table in ("table2", "table3", "table4"):
        sub = [r for r in rows if r["table"] == table]
        if not sub:
            continue
        df = pd.DataFrame(sub)
        df["section"] = df["analysis"].map(SECTIONS[table]).fillna(df["analysis"])
        extra = _extra_column(table)
        drop = [c for c in ("convo_type", "dv") if c != extra]
        df = df.drop(columns=drop)
        order = {a: i for i, a in enumerate(SECTIONS[table])}
        df = df.sort_values(by=["analysis"], key=lambda s: s.map(order).fillna(99), kind="stable")
        out[table] = df.reset_index(drop=True)
    return out


def format_bf(bf: float) -> str:
    """BF as the paper prints it: ``Inf``, ``3,999``, ``141.857``, ``0.592``."""
    if math.isinf(bf):
        return "Inf"
    return f"{bf:,.0f}" if bf >= 1000 else f"{bf:.3f}"


def paper_layout(df: pd.DataFrame) -> pd.DataFrame:
    """Only the paper's printed columns (plus conversation type or DV), BF printed as the paper does."""
    extra = [c for c in ("convo_type", "dv") if c in df.columns]
    out = df.loc[:, ["section", *PAPER_COLUMNS, *extra]].copy()
    out["BF"] = [format_bf(float(b)) for b in out["BF"]]
    return out


def translations(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The Results' percentage translations, ``(exp(beta) - 1) * 10%``, for Analyses 1a and 1b.

    Returns
    -------
    DataFrame
        ``analysis``, ``term``, ``convo_type``, ``beta``, ``percent`` (the paper translates
        the posterior mean), ``percent_ci_lower``/``percent_ci_upper`` (the table's 90%
        interval bounds translated the same way) and ``reads``, the sentence.
    """
    t2 = tables.get("table2")
    if t2 is None:
        return pd.DataFrame(columns=["analysis", "term", "convo_type", "beta", "percent",
                                     "percent_ci_lower", "percent_ci_upper", "reads"])
    sub = t2[t2["analysis"].isin(["1a", "1b"])].copy()
    pct = (np.exp(sub["Estimate"].astype(float)) - 1) * 10
    lo = (np.exp(sub["CI.Lower"].astype(float)) - 1) * 10
    hi = (np.exp(sub["CI.Upper"].astype(float)) - 1) * 10
    outcome = sub["analysis"].map({"1a": "the odds of the highest score",
                                   "1b": "the score"})
    reads = [f"a 10% increase in {t} changes {o} by {p:+.2f}% ({c} conversations)"
             for t, o, p, c in zip(sub["term"], outcome, pct, sub["convo_type"], strict=True)]
    return pd.DataFrame({"analysis": sub["analysis"].to_numpy(), "term": sub["term"].to_numpy(),
                         "convo_type": sub["convo_type"].to_numpy(),
                         "beta": sub["Estimate"].to_numpy(float), "percent": pct.to_numpy(),
                         "percent_ci_lower": lo.to_numpy(), "percent_ci_upper": hi.to_numpy(),
                         "reads": reads})


def published_vs_reproduced(plan: Plan, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Each published row beside its reproduction (and robustness models beside theirs).

    Columns: ``table``, ``analysis``, ``model``, ``role``, ``term``, ``direction``,
    ``convo_type``/``dv`` (``key``), ``published``, ``reproduced``, ``difference``
    (reproduced - published), ``diff_in_sd`` (difference / published Est.Error), ``same_sign``,
    ``published_star``, ``reproduced_star``, ``same_star``, ``published_bf``, ``reproduced_bf``,
    ``reproduced_sd`` (posterior SD), ``reproduced_low_95``/``reproduced_high_95`` (the
    reproduction's 95% posterior interval of the coefficient, from its tidy rows; NaN when
    absent) and ``published_inside_95`` (the published estimate lies in that interval).
    """
    cache: dict[str, pd.DataFrame] = {}
    rows = []
    for m, ref, role, record, h in _ref_rows(plan, records):
        pub = cache.setdefault(ref.table, load_published(ref.table))
        r = _row(m, ref, role, h)
        mask = (pub["analysis"] == ref.analysis) & (pub["term"] == r["term"]) & (
            pub["direction"] == r["direction"])
        extra = _extra_column(ref.table)
        if extra:
            mask &= pub[extra] == r[extra]
        hit = pub[mask]
        if hit.empty:
            continue
        p = hit.iloc[0]
        diff = float(r["Estimate"]) - float(p["estimate"])
        pstar = paper_star(float(p["bf"]))
        rows.append({
            "table": ref.table, "analysis": ref.analysis, "model": m.name, "role": role,
            "term": r["term"], "direction": r["direction"], "key": r[extra] if extra else "",
            "published": float(p["estimate"]), "reproduced": float(r["Estimate"]),
            "difference": diff,
            "diff_in_sd": diff / float(p["est_error"]) if float(p["est_error"]) > 0 else np.nan,
            "same_sign": bool(np.sign(float(p["estimate"])) == np.sign(float(r["Estimate"]))),
            "published_star": pstar, "reproduced_star": r["Star"],
            "same_star": pstar == r["Star"],
            "published_bf": float(p["bf"]), "reproduced_bf": float(r["BF"]),
            **_interval_95(record, r["term"], float(p["estimate"])),
        })
    return pd.DataFrame(rows)


def _interval_95(record: dict[str, Any], term: str, published: float) -> dict[str, Any]:
    """The reproduction's 95% interval of ``term`` and whether ``published`` lies inside it."""
    lo = hi = sd = np.nan
    for t in record.get("tidy", []):
        if t.get("term") == term and t.get("effect", "fixed") == "fixed":
            if abs(float(t.get("conf_level", 0.95)) - 0.95) < 1e-9:
                lo, hi = float(t["conf_low"]), float(t["conf_high"])
            sd = float(t["std_error"])
            break
    inside = bool(lo <= published <= hi) if not (np.isnan(lo) or np.isnan(hi)) else None
    return {"reproduced_sd": sd, "reproduced_low_95": lo, "reproduced_high_95": hi,
            "published_inside_95": inside}


def frequentist_tables(plan: Plan, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per brms model with a frequentist counterpart: the engines side by side.

    Returns
    -------
    dict of str to Comparison
        Model name -> :class:`pybrms.compare.table.Comparison` (brms as the reference).
    """
    out = {}
    for unit in plan.units_for(plan.reference):
        brms = records.get(unit.name)
        others = [records.get(u.name) for u in plan.units
                  if u.model.name == unit.model.name and u.engine != plan.reference]
        others = [o for o in others if o is not None]
        if brms is None or not others:
            continue
        tidy = pd.concat([pd.DataFrame(r["tidy"]) for r in [brms, *others]], ignore_index=True)
        tidy = tidy.loc[:, [c for c in TIDY_COLUMNS if c in tidy.columns]]
        hyps = [h for h in brms.get("hypotheses", []) if h.get("term")]
        texts = [h["text"] for h in hyps]
        bh = pd.DataFrame(hyps).loc[:, ["Hypothesis", "Estimate", "Est.Error", "CI.Lower",
                                        "CI.Upper", "Evid.Ratio", "Post.Prob", "Star"]] \
            if hyps else None
        out[unit.model.name] = compare(tidy, texts, brms_hypotheses=bh)
    return out


def diagnostics_table(plan: Plan, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Convergence per brms fit (Rhat, ESS, divergences, tree depth) and lme4's warnings."""
    rows = []
    for unit in plan.units:
        r = records.get(unit.name)
        if r is None:
            continue
        if "diagnostics" in r:
            d = r["diagnostics"]
            rows.append({"model": unit.model.name, "engine": unit.engine, "rows": r["n_rows"],
                         "chains x draws": f"{unit.model.chains} x {unit.model.draws}",
                         "rhat_max": d["rhat_max"], "ess_bulk_min": d["ess_bulk_min"],
                         "ess_tail_min": d["ess_tail_min"], "divergences": d["divergences"],
                         "treedepth_hits": d["treedepth_hits"],
                         "problems": "; ".join(
                             ([f"Rhat > 1.01: {d.get('n_high_rhat', len(d['high_rhat']))} "
                               f"parameter(s), e.g. {', '.join(d['high_rhat'][:3])}"]
                              if d["high_rhat"] else [])
                             + ([f"ESS < 400: {d.get('n_low_ess', len(d['low_ess']))} "
                                 "parameter(s)"] if d["low_ess"] else [])
                         ) or "none",
                         "seconds": r["seconds"]})
        else:
            rows.append({"model": unit.model.name, "engine": unit.engine, "rows": r["n_rows"],
                         "chains x draws": "", "rhat_max": np.nan, "ess_bulk_min": np.nan,
                         "ess_tail_min": np.nan, "divergences": np.nan, "treedepth_hits": np.nan,
                         "problems": "; ".join(r.get("warnings", [])) or "none",
                         "seconds": r["seconds"]})
    return pd.DataFrame(rows)


def loo_table(plan: Plan, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The supplement's ELPD comparisons: elpd(with) - elpd(without), with loo_compare's SE.

    ``se_diff = sqrt(n) * sd(pointwise difference)``, exactly ``loo::loo_compare``'s formula.
    """
    rows = []
    for spec in plan.analyses.values():
        for cmp in spec.loo:
            pw = []
            for name in cmp.models:
                unit = plan.unit_of(name, plan.reference)
                rec = records.get(unit.name) if unit is not None else None
                pw.append(None if rec is None or "loo" not in rec
                          else np.asarray(rec["loo"]["pointwise_elpd"], dtype=float))
            if any(p is None for p in pw):
                continue
            d = pw[0] - pw[1]
            rows.append({"comparison": cmp.name, "with": cmp.models[0], "without": cmp.models[1],
                         "elpd_diff": float(d.sum()),
                         "se_diff": float(math.sqrt(len(d)) * np.std(d, ddof=1)),
                         "published_elpd_diff": cmp.published_elpd_diff,
                         "published_se": cmp.published_se,
                         "same_sign": (None if cmp.published_elpd_diff is None
                                       else bool(np.sign(d.sum()) == np.sign(cmp.published_elpd_diff)))})
    return pd.DataFrame(rows)
