"""What the replication report says: every table, count and sentence, from the records.

Pure: no files, no rendering (:mod:`.report` writes the files and renders the blocks). Built
from the unit records and the run summary only (no R), so the report can be rebuilt from
checkpoints alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from .plan import Plan
from .schema import CONVO_TYPE_LABELS
from .tables import (
    diagnostics_table,
    frequentist_tables,
    loo_table,
    paper_layout,
    paper_tables,
    published_vs_reproduced,
    translations,
)


@dataclass(frozen=True)
class RecoveryTest:
    """How a simulated dataset's generating values sit in their posterior intervals.

    Attributes
    ----------
    within_95, same_sign, n : int
        Generating values inside their 95% interval, of the estimated sign, and in all.
    sum_z2, p_value : float
        Sum of squared z over the rows, and its chi-squared upper tail on ``n`` df.
    """

    within_95: int
    same_sign: int
    n: int
    sum_z2: float
    p_value: float


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows, computed from the plan, the records and the summary.

    Attributes
    ----------
    ambiguities : DataFrame
        One row per (ambiguity, choice) with the analyses that made it.
    tables : dict of str to DataFrame
        Tables 2-4 as reproduced (:func:`~.tables.paper_tables`).
    layouts : dict of str to DataFrame
        The same in the paper's layout (:func:`~.tables.paper_layout`), with a ``section``.
    translations, published_vs_reproduced, diagnostics, loo : DataFrame
        :func:`~.tables.translations`, :func:`~.tables.published_vs_reproduced`,
        :func:`~.tables.diagnostics_table`, :func:`~.tables.loo_table`.
    interval_notes : list of str
        :func:`interval_summary` of the published-vs-reproduced rows.
    truth_recovery : DataFrame or None
        :func:`truth_recovery` when the data are simulated (``None`` otherwise).
    recovery : RecoveryTest or None
        Its summary, when it has rows.
    frequentist : dict of str to Comparison
        :func:`~.tables.frequentist_tables`.
    settings : DataFrame
        One row per brms fit: formula, priors, sampler settings, data and program hashes.
    versions : dict of str to str
        Software versions from the records' provenance.
    data_files, steps : DataFrame
        The data files' SHA-256, and the rows after each data-pipeline step.
    """

    ambiguities: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    layouts: dict[str, pd.DataFrame]
    translations: pd.DataFrame
    published_vs_reproduced: pd.DataFrame
    interval_notes: list[str]
    truth_recovery: pd.DataFrame | None
    recovery: RecoveryTest | None
    frequentist: dict[str, Any]
    diagnostics: pd.DataFrame
    loo: pd.DataFrame
    settings: pd.DataFrame
    versions: dict[str, str]
    data_files: pd.DataFrame
    steps: pd.DataFrame


def truth_recovery(tables: dict[str, pd.DataFrame], plan: Plan,
                   records: dict[str, dict[str, Any]], truth: dict[str, Any]) -> pd.DataFrame:
    """Generating values of a simulated dataset beside the reproduced rows.

    Only the imposed parts of the simulator's truth are compared: Table 2(b) per conversation
    type, the toxicity interaction, Table 3 and Table 4 (Analysis 1a is implied, not imposed).
    Columns: ``table``, ``model``, ``term``, ``key``, ``truth``, ``estimate``, ``std_error``
    (posterior SD), ``z`` ((estimate - truth) / SD), ``conf_low``, ``conf_high`` (95% posterior
    interval), ``within_95``, ``same_sign``.
    """
    label_to_type = {v: k for k, v in CONVO_TYPE_LABELS.items()}
    tidies: dict[str, pd.DataFrame] = {}  # model -> its brms tidy rows, indexed by term
    rows = []
    for table, df in tables.items():
        for _, r in df.iterrows():
            value = None
            if table == "table2" and r["analysis"] == "1b":
                ctype = label_to_type.get(r["convo_type"], r["convo_type"])
                src = truth.get("analysis_1b") if ctype == "all" else \
                    truth.get("analysis_1b_per_type_implied", {}).get(ctype)
                value = (src or {}).get(r["term"])
            elif table == "table2" and r["analysis"] == "interaction_toxicity":
                value = truth.get("toxicity_interaction", {}).get(r["term"])
            elif table == "table3" and ":" in str(r["term"]):
                mod, attr = r["term"].split(":", 1)
                value = truth.get("analysis_2_moderation", {}).get(mod.removesuffix("TRUE"), {}).get(attr)
            elif table == "table4":
                value = truth.get("analysis_3", {}).get(r["dv"], {}).get(r["term"])
            if value is None:
                continue
            if r["model"] not in tidies:
                unit = plan.unit_of(r["model"], plan.reference)
                tidies[r["model"]] = pd.DataFrame(records[unit.name]["tidy"]).set_index("term")
            tidy = tidies[r["model"]]
            lo, hi = float(tidy.loc[r["term"], "conf_low"]), float(tidy.loc[r["term"], "conf_high"])
            est = float(tidy.loc[r["term"], "estimate"])
            sd = float(tidy.loc[r["term"], "std_error"])
            rows.append({"table": table, "model": r["model"], "term": r["term"],
                         "key": r.get("convo_type", r.get("dv", "")), "truth": float(value),
                         "estimate": est, "std_error": sd, "z": (est - float(value)) / sd,
                         "conf_low": lo, "conf_high": hi,
                         "within_95": bool(lo <= value <= hi),
                         "same_sign": bool(np.sign(est) == np.sign(value))})
    return pd.DataFrame(rows)


def _generating_value(row: pd.Series, truth: dict[str, Any]) -> float | None:
    """The simulator's generating value for a Table 2(b) row, if ``truth`` states one."""
    if row["table"] != "table2" or row["analysis"] != "1b":
        return None
    ctype = {v: k for k, v in CONVO_TYPE_LABELS.items()}.get(row["key"], row["key"])
    src = truth.get("analysis_1b") if ctype == "all" else \
        truth.get("analysis_1b_per_type_implied", {}).get(ctype)
    value = (src or {}).get(row["term"])
    return None if value is None else float(value)


def explain_miss(row: pd.Series, truth: dict[str, Any] | None) -> str:
    """Say in words why a published estimate lies outside the reproduced 95% interval."""
    sd = float(row["reproduced_sd"])
    away = (float(row["published"]) - float(row["reproduced"])) / sd
    head = (f"{row['analysis']} {row['term']} ({row['key'] or 'all'}): published "
            f"{row['published']:.3f} lies {abs(away):.1f} posterior SDs "
            f"{'above' if away > 0 else 'below'} the reproduced {row['reproduced']:.3f} "
            f"[{row['reproduced_low_95']:.3f}, {row['reproduced_high_95']:.3f}].")
    if truth is None:
        return head + (" On real data this is a disagreement with the paper: look at the "
                       "data, the scorer and the choices listed under deviations.")
    gen = _generating_value(row, truth)
    if gen is not None:
        z = (float(row["reproduced"]) - gen) / sd
        if abs(gen - float(row["published"])) < 0.25 * sd:
            return head + (f" The data were generated with {gen:.3f}, so this is this "
                           f"dataset's noise (the estimate is {z:+.1f} SDs from its generating "
                           "value; with 95% intervals about 1 row in 20 misses by chance).")
        why = ("slopes='homogeneous': every type has Table 2b's \"all\" slopes"
               if truth.get("slopes") == "homogeneous" else
               "per-type slopes are centred so that their share-weighted average is Table "
               "2b's \"all\" row")
        return head + (f" The generating value is {gen:.3f}, not the published one ({why}); "
                       f"the estimate is {z:+.1f} SDs from it.")
    if row["analysis"] == "1a":
        ctype = {v: k for k, v in CONVO_TYPE_LABELS.items()}.get(row["key"], row["key"])
        scale = truth.get("score_scale", {})
        gam = ((scale.get("all") if ctype in ("all", "") else
                scale.get("per_type", {}).get(ctype)) or {}).get(row["term"])
        how = ("" if gam is None else
               f" (its residual-scale slope is {gam:+.2f}; 0 means the attribute varies too "
               "little within an interaction for the scale to move the highest score)")
        return head + (" Analysis 1a is not imposed: the highest score follows from the "
                       "simulated scores, whose mean follows Table 2b and whose "
                       f"within-interaction spread was calibrated towards Table 2a{how}; see "
                       "pybrms/data/bundled/README.md for what that calibration can and "
                       "cannot reach.")
    return head + " The simulator does not impose this row."


def interval_summary(pvr: pd.DataFrame, truth: dict[str, Any] | None) -> list[str]:
    """Paragraphs: how many published estimates lie inside the reproduced 95% intervals.

    One paragraph counts them per table and analysis; one more per reproduction row whose
    published estimate lies outside says why (:func:`explain_miss`).
    """
    known = pvr[pvr["published_inside_95"].notna()]
    if known.empty:
        return []
    rep = known[known["role"] == "reproduction"]
    parts = []
    for (table, analysis), g in rep.groupby(["table", "analysis"], sort=False):
        parts.append(f"{table} {analysis}: {int(g['published_inside_95'].sum())} of {len(g)}")
    out = [("Published estimate inside the reproduced 95% interval (column "
            "published_inside_95): " + "; ".join(parts) + ".")]
    misses = rep[~rep["published_inside_95"].astype(bool)]
    out += [explain_miss(r, truth) for _, r in misses.iterrows()]
    return out


def versions_used(plan: Plan, records: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Software versions from the records' provenance (other engines' prefixed by the engine)."""
    out: dict[str, str] = {}
    for r in records.values():
        v = r.get("provenance", {}).get("versions", {})
        for k, val in v.items():
            out.setdefault(k if r["engine"] == plan.reference else f"{r['engine']}: {k}", str(val))
    return out


def fit_settings(plan: Plan, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per reference (brms) fit: its spec's settings and its data and program hashes."""
    rows = []
    for u in plan.units_for(plan.reference):
        r = records.get(u.name, {})
        m = u.model
        rows.append({"model": m.name, "also_reported_as": ", ".join(a.name for a in u.aliases[1:]),
                     "family": m.family, "formula": m.formula,
                     "priors": "; ".join(f"{p.prior} (class {p.class_})" for p in m.priors),
                     "chains": m.chains, "warmup": m.warmup, "draws": m.draws, "seed": m.seed,
                     "rows": r.get("n_rows"), "data_sha256": str(r.get("data_hash", ""))[:16],
                     "stan_program": str(r.get("stan_program", ""))[:12]})
    return pd.DataFrame(rows)


def ambiguity_table(plan: Plan) -> pd.DataFrame:
    """One row per (ambiguity, choice) with the analyses that made that choice."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for a in plan.analyses.values():
        for amb in a.ambiguities.values():
            row = seen.setdefault((amb.key, amb.choice), {
                "ambiguity": amb.key, "choice": amb.choice,
                "alternatives": ", ".join(amb.alternatives), "analyses": "",
                "why": amb.description})
            row["analyses"] = ", ".join(filter(None, [row["analyses"], a.id]))
    return pd.DataFrame(list(seen.values()))



def recovery_test(rec: pd.DataFrame) -> RecoveryTest:
    """Summarise :func:`truth_recovery`'s rows (a non-empty frame)."""
    stat = float((rec["z"] ** 2).sum())
    return RecoveryTest(within_95=int(rec["within_95"].sum()), same_sign=int(rec["same_sign"].sum()),
                        n=len(rec), sum_z2=stat, p_value=float(chdtrc(len(rec), stat)))


def report_content(plan: Plan, records: dict[str, dict[str, Any]],
                   summary: dict[str, Any]) -> ReportContent:
    """Compute everything the report shows.

    Parameters
    ----------
    plan : Plan
        The run's plan.
    records : dict of str to dict
        Unit name -> its record (:mod:`.fitting`).
    summary : dict
        The run summary (``simulated_truth`` when the data are simulated, ``frames``,
        ``data_files_sha256``...).

    Returns
    -------
    ReportContent
    """
    tables = paper_tables(plan, records)
    pvr = published_vs_reproduced(plan, records)
    truth = summary.get("simulated_truth")
    rec = truth_recovery(tables, plan, records, truth) if "simulated_truth" in summary else None
    frames = summary.get("frames", {})
    return ReportContent(
        ambiguities=ambiguity_table(plan),
        tables=tables,
        layouts={tid: paper_layout(df) for tid, df in tables.items()},
        translations=translations(tables),
        published_vs_reproduced=pvr,
        interval_notes=interval_summary(pvr, truth) if len(pvr) else [],
        truth_recovery=rec,
        recovery=recovery_test(rec) if rec is not None and len(rec) else None,
        frequentist=frequentist_tables(plan, records),
        diagnostics=diagnostics_table(plan, records),
        loo=loo_table(plan, records),
        settings=fit_settings(plan, records),
        versions=versions_used(plan, records),
        data_files=pd.DataFrame([{"file": k, "sha256": v}
                                 for k, v in summary.get("data_files_sha256", {}).items()]),
        steps=pd.DataFrame(frames.get("steps", [])),
    )
